// Import a FAQ file (a dry run first: what would be created, updated, unchanged, or which
// problems refuse it) and export the FAQ.
import { request } from './api.js';
import { append, h, field, select, errorBox, alertBox, announce, download } from './ui.js';

const FORMATS = [['json', 'JSON'], ['csv', 'CSV'], ['md', 'Markdown']];

function formatOf(name) {
  const extension = name.split('.').pop().toLowerCase();
  return { csv: 'csv', md: 'md', markdown: 'md' }[extension] ?? 'json';
}

function summary(result) {
  const list = (title, keys) => h('div', { 'data-list': title.toLowerCase() },
    h('h3', null, `${title}: ${keys.length}`), keys.length ? h('p', null, keys.join(', ')) : null);
  return [list('Created', result.created), list('Updated', result.updated), list('Unchanged', result.unchanged)];
}

export async function transferPage(page) {
  const file = h('input', { type: 'file', name: 'file', accept: '.json,.csv,.md,.markdown,text/*,application/json', required: true });
  const format = select('format', FORMATS, 'json');
  const result = h('div', { id: 'import-result', 'aria-live': 'polite' });
  const check = h('button', { type: 'submit' }, 'Check (dry run)');
  const apply = h('button', { type: 'button', disabled: true }, 'Import');
  file.addEventListener('change', () => {
    if (file.files[0]) format.value = formatOf(file.files[0].name);
    apply.disabled = true;
    result.replaceChildren();
  });

  async function send(dryRun) {
    const chosen = file.files[0];
    if (!chosen) return;
    const body = await chosen.arrayBuffer();
    try {
      const done = await request('POST', `/faq/import?format=${format.value}&dry_run=${dryRun}`, { body, headers: { 'Content-Type': 'application/octet-stream' } });
      const outcome = done.data;
      if (dryRun) {
        result.replaceChildren(h('section', { class: 'card' }, h('h2', null, 'What the import would change'), alertBox('info', 'Nothing has changed yet.'), summary(outcome)));
        apply.disabled = false;
      } else {
        result.replaceChildren(h('section', { class: 'card' }, h('h2', null, 'Imported'), summary(outcome)));
        apply.disabled = true;
        announce(`Imported: ${outcome.created.length} created, ${outcome.updated.length} updated.`);
      }
    } catch (error) {
      apply.disabled = true;
      result.replaceChildren(h('section', { class: 'card' }, h('h2', null, 'Problems: nothing imported'), errorBox(error)));
    }
  }
  const form = h('form', { class: 'card', 'aria-labelledby': 'import-title' },
    h('h2', { id: 'import-title' }, 'Import a file'),
    h('div', { class: 'row' }, field('FAQ file', file, 'JSON, CSV or Markdown, as `firstline kb import` reads them.'), field('Format', format)),
    h('div', { class: 'actions' }, check, apply));
  form.addEventListener('submit', (event) => { event.preventDefault(); send(true); });
  apply.addEventListener('click', () => send(false));

  const problem = h('div');
  const exportAs = async (kind) => {
    problem.replaceChildren();
    try {
      const done = await request('GET', `/faq/export?format=${kind}`, { as: 'blob' });
      download(`faq.${kind}`, done.data);
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  };
  append(page, h('h1', null, 'Import & export'), form, result,
    h('section', { class: 'card', 'aria-labelledby': 'export-title' }, h('h2', { id: 'export-title' }, 'Export the FAQ'),
      h('p', { class: 'muted' }, 'Every entry that is not deleted, drafts and translations included; the file imports back unchanged. CSV has a row per entry and language, Markdown a section per language.'),
      h('div', { class: 'actions' },
        h('button', { type: 'button', onclick: () => exportAs('json') }, 'Export JSON'),
        h('button', { type: 'button', onclick: () => exportAs('csv') }, 'Export CSV'),
        h('button', { type: 'button', onclick: () => exportAs('md') }, 'Export Markdown')), problem));
}
