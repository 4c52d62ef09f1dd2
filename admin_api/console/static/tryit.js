// Try it: what the bot would do with a question now, on the live FAQ.
import { post } from './api.js';
import { append, h, field, select, table, errorBox, badge, percent, telegramPreview } from './ui.js';

const DECISION = { answer: ['Answers', 'good'], clarify: ['Asks "did you mean…?"', 'warn'], handoff: ['Hands off to a person', 'bad'] };

function scoreBar(score) {
  const width = Math.max(0, Math.min(1, score)) * 100;
  const svg = document.createElementNS('http://www.w3.org/2000/svg', 'svg');
  svg.setAttribute('viewBox', '0 0 100 8');
  svg.setAttribute('width', '100');
  svg.setAttribute('height', '8');
  svg.setAttribute('aria-hidden', 'true');
  const bar = document.createElementNS('http://www.w3.org/2000/svg', 'rect');
  bar.setAttribute('class', 'bar');
  bar.setAttribute('width', String(width));
  bar.setAttribute('height', '8');
  svg.append(bar);
  return h('span', null, svg, ` ${score.toFixed(3)}`);
}

const NAMES = { ru: 'Russian', uk: 'Ukrainian', en: 'English' };

// Which language the answer comes in: the conversation's, or the entry's main one without it.
function answerLanguage(decision, asked) {
  if (!decision.answer_language) return '—';
  const wanted = asked || decision.language;
  const sent = NAMES[decision.answer_language] || decision.answer_language;
  return wanted && wanted !== decision.answer_language
    ? `${sent} (no ${NAMES[wanted] || wanted} translation: sent with a note)` : sent;
}

export async function tryPage(page) {
  const text = h('textarea', { name: 'text', rows: 3, required: true });
  const language = select('language', [['', 'Detect'], ['ru', 'Russian'], ['uk', 'Ukrainian'], ['en', 'English']], '');
  const result = h('div', { id: 'decision', 'aria-live': 'polite' });
  const form = h('form', { class: 'card' },
    field('A customer writes', text), h('div', { class: 'row' }, field('Language', language)),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'What would the bot do?')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    result.replaceChildren(h('p', { class: 'muted' }, 'Asking…'));
    try {
      const decision = await post('/answer', { text: text.value, language: language.value || null });
      const [label, kind] = DECISION[decision.decision] ?? [decision.decision, ''];
      result.replaceChildren(h('section', { class: 'card' },
        h('h2', null, badge(label, kind), ' ', h('span', { class: 'muted' }, `reason: ${decision.reason}`)),
        h('dl', { class: 'facts' },
          h('dt', null, 'Decision'), h('dd', { 'data-decision': decision.decision }, decision.decision),
          h('dt', null, 'Confidence'), h('dd', null, decision.score === null || decision.score === undefined ? '—' : percent(decision.score)),
          h('dt', null, 'Language'), h('dd', null, decision.language ?? '—'),
          h('dt', null, 'Answer in'), h('dd', { id: 'answer-language' }, answerLanguage(decision, language.value)),
          h('dt', null, 'Entry'), h('dd', null, decision.faq_key ? h('a', { href: `#/faq/entry/${encodeURIComponent(decision.faq_key)}` }, decision.faq_key) : '—')),
        decision.answer ? h('div', null, h('h3', null, 'The answer'), h('div', { class: 'preview' }, telegramPreview(decision.answer))) : null,
        h('h3', null, 'Candidates weighed'),
        table(['Entry', 'Question', 'Score'], (decision.candidates || []).map((c) => [
          h('a', { href: `#/faq/entry/${encodeURIComponent(c.faq_key)}` }, c.faq_key), c.question, scoreBar(c.score)]), 'Candidates')));
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  });
  append(page, h('h1', null, 'Try it'), h('p', { class: 'muted' }, 'What the bot would do now with the published FAQ.'), form, result);
}
