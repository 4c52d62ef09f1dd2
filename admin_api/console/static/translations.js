// An entry's translations: one section per language in the entry editor (saved with the entry,
// one version, one If-Match), and the editors' to-do list of entries customers got in another
// language or that lack a translation, the busiest first.
import { get, query } from './api.js';
import { append, h, field, table, errorBox, badge } from './ui.js';

export const LANGUAGES = [['ru', 'Russian'], ['uk', 'Ukrainian'], ['en', 'English']];
const NAMES = Object.fromEntries(LANGUAGES);

const lines = (text) => text.split('\n').map((line) => line.trim()).filter(Boolean);

// The sections of the editor; the main language's is hidden (its wording is the entry's own).
export function translationEditor(entry, readOnly) {
  const sections = {};
  for (const [code, name] of LANGUAGES) {
    const given = (entry.translations || {})[code] || { question: '', alt_questions: [], answer: '' };
    const controls = {
      question: h('input', { type: 'text', name: `question-${code}`, value: given.question, readonly: readOnly }),
      alt: h('textarea', { name: `alt_questions-${code}`, rows: 3, value: given.alt_questions.join('\n'), readonly: readOnly }),
      answer: h('textarea', { name: `answer-${code}`, rows: 5, value: given.answer, readonly: readOnly }),
    };
    const section = h('fieldset', { class: 'translation', 'data-language': code },
      h('legend', null, `${name} translation`),
      field(`Question (${name})`, controls.question),
      field(`Other phrasings (${name})`, controls.alt, 'One per line.'),
      field(`Answer (${name})`, controls.answer,
        `Leave the question and the answer empty for no ${name} translation: customers writing ${name} then get the main language's answer, with a line saying so.`));
    sections[code] = { controls, section };
  }
  const body = h('section', { class: 'translations', 'aria-label': 'Translations' },
    h('h2', null, 'Translations'),
    h('p', { class: 'hint' }, 'The bot answers each customer in their language; every language\'s phrasings find this entry.'),
    Object.values(sections).map(({ section }) => section));
  return {
    body,
    showFor(main) {
      for (const [code, { section }] of Object.entries(sections)) section.hidden = code === main;
    },
    valueFor(main) {
      const filled = Object.entries(sections).filter(([code, { controls }]) => code !== main
        && (controls.question.value.trim() || controls.answer.value.trim() || controls.alt.value.trim()));
      return Object.fromEntries(filled.map(([code, { controls }]) => [code, {
        question: controls.question.value.trim(),
        alt_questions: lines(controls.alt.value),
        answer: controls.answer.value,
      }]));
    },
  };
}

// Translations as text, for the conflict table and the history's diffs.
export function translationsText(translations) {
  return Object.entries(translations || {}).map(([code, text]) => [
    `[${code}] ${text.question}`, ...text.alt_questions.map((phrasing) => `  also: ${phrasing}`), text.answer,
  ].join('\n')).join('\n\n');
}

export async function translationsTodo(page) {
  const results = h('div', { 'aria-live': 'polite' });
  append(page,
    h('p', null, h('a', { href: '#/faq' }, '← All entries')),
    h('h1', null, 'Translations to do'),
    h('p', { class: 'muted' }, 'The last 30 days: entries customers got in another language than theirs (no translation), then the most answered entries missing a language.'),
    results);
  let report;
  try {
    report = await get(`/translations${query({})}`);
  } catch (error) {
    results.replaceChildren(errorBox(error));
    return;
  }
  const todo = report.entries.filter((entry) => entry.missing.length);
  const rows = todo.map((entry) => [
    h('a', { href: `#/faq/entry/${encodeURIComponent(entry.faq_key)}` }, entry.faq_key),
    entry.question,
    NAMES[entry.language] || entry.language,
    entry.missing.map((code) => badge(NAMES[code] || code, 'warn')),
    String(entry.answers),
    Object.entries(entry.other_language).map(([code, count]) => `${NAMES[code] || code}: ${count}`).join(', ') || '—',
  ]);
  results.replaceChildren(
    h('p', { id: 'translations-summary' }, `${report.answers_in_other_language} of ${report.answers} answers went out in another language than the customer's.`),
    table(['Key', 'Question', 'Main language', 'Missing', 'Answers', 'Sent in another language to'], rows, 'Entries missing a translation'));
}
