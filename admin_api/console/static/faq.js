// The FAQ: the list with filters, one entry's editor (saved with the version it was read at),
// publish, history with diffs and rollback, delete and restore.
import { get, post, request, query, mayEdit, ApiError } from './api.js';
import {
  append, h, field, select, table, errorBox, alertBox, announce, when, badge, telegramPreview, lineDiff,
  confirmButton, percent,
} from './ui.js';
import { LANGUAGES, translationEditor, translationsText } from './translations.js';
import { whatIfSection } from './whatif.js';

const PAGE = 50;
const STATUSES = [['published', 'Published'], ['draft', 'Draft']];
const filters = { search: '', tag: '', language: '', status: '', deleted: false, offset: 0 };

const statusBadge = (entry) => (entry.deleted_at
  ? badge('deleted', 'bad')
  : badge(entry.status, entry.status === 'draft' ? 'warn' : 'good'));

export async function faqList(page) {
  const search = h('input', { type: 'search', name: 'search', value: filters.search, placeholder: 'words in the question, phrasings or answer' });
  const tag = h('input', { type: 'text', name: 'tag', value: filters.tag });
  const language = select('language', [['', 'Any'], ...LANGUAGES], filters.language);
  const status = select('status', [['', 'Any'], ...STATUSES], filters.status);
  const deleted = h('input', { type: 'checkbox', name: 'deleted', id: 'faq-deleted', checked: filters.deleted });
  const results = h('div', { 'aria-live': 'polite' });
  const form = h(
    'form',
    { class: 'card', role: 'search', 'aria-label': 'Filter the FAQ' },
    h('div', { class: 'row' },
      field('Search', search), field('Tag', tag), field('Language', language), field('Status', status),
      h('div', { class: 'field' }, h('span', { class: 'label' }, 'Deleted'), h('label', { for: 'faq-deleted' }, deleted, ' show deleted entries'))),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter')),
  );
  let typing;
  const refresh = () => {
    Object.assign(filters, {
      search: search.value.trim(), tag: tag.value.trim(), language: language.value,
      status: status.value, deleted: deleted.checked, offset: 0,
    });
    load();
  };
  form.addEventListener('submit', (event) => { event.preventDefault(); refresh(); });
  search.addEventListener('input', () => { clearTimeout(typing); typing = setTimeout(refresh, 300); });
  for (const control of [language, status, deleted]) control.addEventListener('change', refresh);

  async function load() {
    const wanted = { ...filters, limit: PAGE };
    let found;
    try {
      found = await get(`/faq${query(wanted)}`);
    } catch (error) {
      results.replaceChildren(errorBox(error));
      return;
    }
    const rows = found.items.map((entry) => [
      h('a', { href: `#/faq/entry/${encodeURIComponent(entry.key)}` }, entry.key),
      entry.question, entry.language, Object.keys(entry.translations).join(', ') || '—',
      statusBadge(entry), entry.tags.join(', '), when(entry.updated_at),
    ]);
    const pages = Math.max(1, Math.ceil(found.total / PAGE));
    const current = Math.floor(filters.offset / PAGE) + 1;
    const previous = h('button', { type: 'button', class: 'quiet', disabled: current <= 1, onclick: () => { filters.offset -= PAGE; load(); } }, 'Previous page');
    const next = h('button', { type: 'button', class: 'quiet', disabled: current >= pages, onclick: () => { filters.offset += PAGE; load(); } }, 'Next page');
    results.replaceChildren(
      h('p', { class: 'muted', id: 'faq-count' }, `${found.total} entries`),
      table(['Key', 'Question', 'Language', 'Translations', 'Status', 'Tags', 'Updated'], rows, 'FAQ entries'),
      h('div', { class: 'pager' }, previous, h('span', null, `Page ${current} of ${pages}`), next),
    );
  }

  const expected = h('div');
  append(page,
    h('h1', null, 'FAQ'),
    h('div', { class: 'actions' },
      mayEdit() ? h('a', { class: 'button', href: '#/faq/new' }, 'New entry') : null,
      h('a', { class: 'button quiet', href: '#/faq/translations' }, 'Translations to do')),
    expected,
    form,
    results,
  );
  // The first estimate may take seconds (fixed thresholds are estimated when first asked): the
  // list does not wait.
  if (mayEdit()) expectation().then((section) => expected.replaceWith(section ?? ''));
  await load();
}

// What the bot expects on this FAQ (GET /faq/calibration): editors see how careful it is.
const THRESHOLDS_FROM = {
  'self-calibrated': 'fitted by the FAQ itself',
  settings: 'fixed in the settings',
  'firstline calibrate': 'chosen by firstline calibrate from a labelled file',
};

const ESTIMATE_POLLS = 60; // every 2 s: a big FAQ's rehearsal takes a while

async function expectation() {
  let fit;
  try {
    fit = await get('/faq/calibration');
    for (let poll = 0; fit.state === 'refitting' && !fit.answered_right && poll < ESTIMATE_POLLS; poll += 1) {
      await new Promise((resolve) => setTimeout(resolve, 2000));
      fit = await get('/faq/calibration');
    }
  } catch (error) {
    return errorBox(error);
  }
  if (fit.state === 'empty' || !fit.answered_right) return null;
  const { answered_right: right, wrong_answers: wrong, rehearsed } = fit;
  const known = rehearsed.labelled ? `, and ${rehearsed.labelled} customers' questions it learned from (picks, 👍 and 👎, "None of these", agents' /faq)` : '';
  return h('section', { class: 'card', id: 'expectation', 'aria-labelledby': 'expectation-title' },
    h('h2', { id: 'expectation-title' }, 'What the bot expects on this FAQ'),
    h('p', null,
      `About ${percent(right.value)} of the questions it covers answered outright (at least ${percent(right.low)}), `,
      `${percent(wrong.value)} wrong answers (at most ${percent(wrong.high)}); the rest offered as "did you mean…" or passed to a person.`),
    h('p', { class: 'muted' },
      `Thresholds ${THRESHOLDS_FROM[fit.source] ?? fit.source}, for a ${percent(fit.wrong_answer_budget)} wrong-answer budget; estimated from ${rehearsed.covered} + ${rehearsed.uncovered} rehearsed questions${known}.`,
      fit.state === 'refitting' ? ' Refitting after the latest change…' : ''));
}

function contentFrom(controls) {
  return {
    question: controls.question.value.trim(),
    alt_questions: controls.alt.value.split('\n').map((line) => line.trim()).filter(Boolean),
    answer: controls.answer.value,
    tags: controls.tags.value.split(',').map((tag) => tag.trim()).filter(Boolean),
    language: controls.language.value,
    status: controls.status.value,
    translations: controls.translations.valueFor(controls.language.value),
  };
}

// The editor's controls, filled from an entry (or empty for a new one), with a live preview.
function editorForm(entry, readOnly) {
  const controls = {
    question: h('input', { type: 'text', name: 'question', value: entry.question, required: true, readonly: readOnly }),
    alt: h('textarea', { name: 'alt_questions', rows: 4, value: entry.alt_questions.join('\n'), readonly: readOnly }),
    answer: h('textarea', { name: 'answer', rows: 8, value: entry.answer, required: true, readonly: readOnly }),
    tags: h('input', { type: 'text', name: 'tags', value: entry.tags.join(', '), readonly: readOnly }),
    language: select('language', LANGUAGES, entry.language),
    status: select('status', STATUSES, entry.status),
    translations: translationEditor(entry, readOnly),
  };
  if (readOnly) { controls.language.disabled = true; controls.status.disabled = true; }
  controls.translations.showFor(entry.language);
  controls.language.addEventListener('change', () => controls.translations.showFor(controls.language.value));
  const preview = h('div', { class: 'preview', id: 'answer-preview', 'aria-live': 'polite' });
  const showPreview = () => preview.replaceChildren(...telegramPreview(controls.answer.value));
  controls.answer.addEventListener('input', showPreview);
  showPreview();
  const body = [
    field('Question', controls.question),
    field('Other phrasings', controls.alt, 'One per line: how customers also ask it, in any language.'),
    h('div', { class: 'split' },
      field('Answer', controls.answer, 'Telegram-safe Markdown: *bold*, _italic_, `code`, [label](https://…).'),
      h('div', { class: 'field' }, h('span', { class: 'label', id: 'preview-label' }, 'As the customer sees it in Telegram'), preview)),
    h('div', { class: 'row' },
      field('Tags', controls.tags, 'Separated by commas.'),
      field('Language', controls.language, 'The main language: its answer goes to customers whose language has no translation.'),
      field('Status', controls.status)),
    controls.translations.body,
  ];
  preview.setAttribute('aria-labelledby', 'preview-label');
  return { controls, body };
}

export async function faqNew(page) {
  const empty = { question: '', alt_questions: [], answer: '', tags: [], language: 'ru', status: 'draft', translations: {} };
  const { controls, body } = editorForm(empty, false);
  const key = h('input', { type: 'text', name: 'key', required: true, pattern: '[a-z0-9][a-z0-9_.\\-]{0,99}' });
  const problem = h('div');
  const form = h('form', { class: 'card', 'aria-labelledby': 'new-title' },
    field('Key', key, 'A stable name: lower-case letters, digits, - _ . (e.g. refund-cancelled).'),
    body, problem, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create entry')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.replaceChildren();
    try {
      const created = await post('/faq', { key: key.value.trim(), ...contentFrom(controls) });
      announce(`Entry ${created.key} created (${created.status}).`, 'ok', true);
      location.hash = `#/faq/entry/${encodeURIComponent(created.key)}`;
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  });
  append(page, h('h1', { id: 'new-title' }, 'New FAQ entry'), form);
}

const FIELDS = [
  ['question', 'Question'], ['alt_questions', 'Other phrasings'], ['answer', 'Answer'],
  ['tags', 'Tags'], ['language', 'Language'], ['status', 'Status'], ['translations', 'Translations'],
];

function shown(value) {
  if (Array.isArray(value)) return value.join('\n');
  if (value && typeof value === 'object') return translationsText(value);
  return String(value ?? '');
}

// Both versions side by side, each differing field marked in words (not by colour alone).
function conflictTable(mine, theirs) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'conflict' },
    h('caption', { class: 'visually-hidden' }, 'Your edit and the saved version'),
    h('thead', null, h('tr', null, h('th', { scope: 'col' }, 'Field'), h('th', { scope: 'col' }, 'Your edit (not saved)'), h('th', { scope: 'col' }, `Saved now: version ${theirs.version}`))),
    h('tbody', null, FIELDS.map(([name, label]) => {
      const differs = shown(mine[name]) !== shown(theirs[name]);
      return h('tr', { 'data-field': name, class: differs ? 'differs' : '' },
        h('th', { scope: 'row' }, label, differs ? h('div', null, badge('differs', 'warn')) : null),
        h('td', { class: 'mine pre' }, shown(mine[name])),
        h('td', { class: 'theirs pre' }, shown(theirs[name])));
    }))));
}

export async function faqEntry(page, rawKey) {
  const key = decodeURIComponent(rawKey);
  const path = `/faq/${encodeURIComponent(key)}`;
  const read = await request('GET', path);
  let entry = read.data;
  const readOnly = !mayEdit() || Boolean(entry.deleted_at);
  const { controls, body } = editorForm(entry, readOnly);
  const problem = h('div', { id: 'entry-problem' });
  const conflict = h('div', { id: 'conflict' });
  const history = h('div', { id: 'history' });
  const version = h('span', { id: 'entry-version' });
  const state = h('span');
  const showVersion = () => {
    version.textContent = `version ${entry.version}`;
    state.replaceChildren(statusBadge(entry));
  };
  showVersion();

  async function save(expected) {
    problem.replaceChildren();
    try {
      const saved = await request('PUT', path, { json: contentFrom(controls), headers: { 'If-Match': `"${expected}"` } });
      entry = saved.data;
      conflict.replaceChildren();
      showVersion();
      announce(`Saved: ${entry.key} is at version ${entry.version}.`);
      rebuildActions();
    } catch (error) {
      if (error.status === 412) await showConflict(error);
      else problem.replaceChildren(errorBox(error));
    }
  }

  async function showConflict(error) {
    const theirs = await get(path);
    const mine = contentFrom(controls);
    const overwrite = h('button', { type: 'button', class: 'danger', onclick: () => save(theirs.version) }, `Save my edit over version ${theirs.version}`);
    const reload = h('button', { type: 'button', class: 'quiet', onclick: async () => { page.replaceChildren(); await faqEntry(page, encodeURIComponent(key)); announce(`Showing the saved version ${theirs.version}.`); } }, 'Discard my edit, open the saved version');
    conflict.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'conflict-title' },
      h('h2', { id: 'conflict-title' }, 'Not saved: someone else saved this entry meanwhile'),
      alertBox('error', h('p', null, error.message), h('p', null, 'Nothing was overwritten. Compare, then choose.')),
      conflictTable(mine, theirs),
      h('div', { class: 'actions' }, reload, overwrite)));
    conflict.querySelector('h2').setAttribute('tabindex', '-1');
    conflict.querySelector('h2').focus();
  }

  const actions = h('div', { class: 'actions' });
  function rebuildActions() {
    if (!mayEdit()) { actions.replaceChildren(); return; }
    const buttons = [];
    if (entry.deleted_at) {
      buttons.push(h('button', { type: 'button', onclick: () => act('POST', `${path}/restore`, 'Restored.') }, 'Restore'));
    } else {
      buttons.push(h('button', { type: 'submit' }, 'Save'));
      if (entry.status === 'draft') {
        buttons.push(h('button', { type: 'button', onclick: () => act('POST', `${path}/publish`, 'Published: the bot answers with it now.', { 'If-Match': `"${entry.version}"` }) }, 'Publish'));
      }
      buttons.push(confirmButton('Delete', 'The bot stops answering with this entry at once.', () => act('DELETE', path, 'Deleted (it can be restored).', { 'If-Match': `"${entry.version}"` })));
    }
    buttons.push(h('button', { type: 'button', class: 'quiet', onclick: showHistory }, 'History'));
    actions.replaceChildren(...buttons);
  }

  async function act(method, target, done, headers = {}) {
    problem.replaceChildren();
    try {
      await request(method, target, { headers });
      announce(done);
      const again = await get(path);
      page.replaceChildren();
      await faqEntry(page, encodeURIComponent(again.key));
    } catch (error) {
      if (error.status === 412) problem.replaceChildren(errorBox(new ApiError(412, `${error.message} Reload the page to see the saved version.`)));
      else problem.replaceChildren(errorBox(error));
    }
  }

  async function showHistory() {
    let versions;
    try {
      versions = await get(`${path}/versions`);
    } catch (error) {
      history.replaceChildren(errorBox(error));
      return;
    }
    const ordered = [...versions].sort((a, b) => b.version - a.version);
    history.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'history-title' },
      h('h2', { id: 'history-title', tabindex: '-1' }, 'History'),
      h('ol', { reversed: true, class: 'versions' }, ordered.map((item, index) => {
        const older = ordered[index + 1];
        const diff = h('div');
        const before = older ? older.snapshot : {};
        const changed = FIELDS.filter(([name]) => shown(before[name]) !== shown(item.snapshot[name]));
        return h('li', { 'data-version': item.version },
          h('strong', null, `Version ${item.version}`), ` · ${item.change} by ${item.author}, ${when(item.changed_at)}`,
          item.languages_changed.length ? ` · changed: ${item.languages_changed.join(', ')}` : '',
          h('div', { class: 'actions' },
            h('button', { type: 'button', class: 'quiet', onclick: () => {
              diff.replaceChildren(...changed.map(([name, label]) => h('div', null, h('strong', null, label), lineDiff(shown(before[name]), shown(item.snapshot[name])))));
              if (!changed.length) diff.replaceChildren(h('p', { class: 'muted' }, 'No change of content.'));
            } }, older ? `What changed in version ${item.version}` : 'Show content'),
            mayEdit() && !entry.deleted_at && item.version !== entry.version
              ? h('button', { type: 'button', onclick: () => rollback(item.version) }, `Roll back to version ${item.version}`) : null),
          diff);
      }))));
    history.querySelector('h2').focus();
  }

  async function rollback(target) {
    problem.replaceChildren();
    try {
      await request('POST', `${path}/rollback`, { json: { version: target }, headers: { 'If-Match': `"${entry.version}"` } });
      announce(`Rolled back: version ${target}'s content is current again, as a new version.`);
      page.replaceChildren();
      await faqEntry(page, encodeURIComponent(key));
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  }

  const form = h('form', { class: 'card', 'aria-labelledby': 'entry-title' }, body, problem, actions);
  form.addEventListener('submit', (event) => { event.preventDefault(); save(entry.version); });
  rebuildActions();
  append(page, 
    h('p', null, h('a', { href: '#/faq' }, '← All entries')),
    h('h1', { id: 'entry-title' }, `Entry ${entry.key} `, state),
    h('p', { class: 'muted' }, version, ` · updated ${when(entry.updated_at)}`),
    readOnly && !entry.deleted_at ? alertBox('info', 'Read only: your role may not change the FAQ.') : null,
    entry.deleted_at ? alertBox('info', `Deleted ${when(entry.deleted_at)}. Restore it to edit it.`) : null,
    conflict, form,
    mayEdit() && !entry.deleted_at ? whatIfSection(key, () => contentFrom(controls)) : null,
    history,
  );
}
