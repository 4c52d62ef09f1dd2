// DOM helpers: every element is built with text nodes (never innerHTML with data), so nothing a
// customer or an editor wrote can run as markup in the console.

let nextId = 0;

export function h(tag, props, ...children) {
  const element = document.createElement(tag);
  let value;
  for (const [name, given] of Object.entries(props || {})) {
    if (given === null || given === undefined || given === false) continue;
    if (name === 'value') value = given;
    else if (name.startsWith('on')) element.addEventListener(name.slice(2), given);
    else if (name === 'class') element.className = given;
    else if (name === 'checked' || name === 'disabled' || name === 'selected') element[name] = true;
    else element.setAttribute(name, given === true ? '' : String(given));
  }
  append(element, ...children);
  if (value !== undefined) element.value = value;
  return element;
}

// Like Element.append, but skips null, undefined and false (conditional parts) and flattens lists.
export function append(element, ...children) {
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return element;
}

export function uid(prefix = 'f') {
  nextId += 1;
  return `${prefix}-${nextId}`;
}

// A labelled control: the label names it for screen readers and clicks focus it.
export function field(label, control, hint) {
  if (!control.id) control.id = uid();
  const parts = [h('label', { for: control.id }, label), control];
  if (hint) {
    const hintId = uid('hint');
    control.setAttribute('aria-describedby', hintId);
    parts.push(h('span', { class: 'hint', id: hintId }, hint));
  }
  return h('div', { class: 'field' }, parts);
}

export function select(name, options, value) {
  return h(
    'select',
    { name, value },
    options.map(([optionValue, text]) => h('option', { value: optionValue }, text)),
  );
}

export function table(headers, rows, caption) {
  return h(
    'div',
    { class: 'table-wrap' },
    h(
      'table',
      null,
      caption ? h('caption', { class: 'visually-hidden' }, caption) : null,
      h('thead', null, h('tr', null, headers.map((header) => h('th', { scope: 'col' }, header)))),
      h('tbody', null, rows.length
        ? rows.map((cells) => h('tr', null, cells.map((cell) => h('td', null, cell))))
        : h('tr', null, h('td', { colspan: headers.length, class: 'muted' }, 'Nothing here.'))),
    ),
  );
}

export function alertBox(kind, ...content) {
  return h('div', { class: `alert ${kind}`, role: kind === 'error' ? 'alert' : 'status' }, content);
}

export function errorBox(error) {
  const details = error && error.details ? error.details : [];
  return alertBox(
    'error',
    h('strong', null, error && error.status ? `${error.status}: ` : ''),
    error && error.message ? error.message : String(error),
    details.length
      ? h('ul', null, details.map((d) => h('li', null, `${d.location ?? d.loc ?? ''}: ${d.problem ?? d.msg ?? JSON.stringify(d)}`)))
      : null,
  );
}

const notice = () => document.getElementById('notice');

// A short message in the polite live region (read out by screen readers, kept until the next).
let keepOnce = false;

// ``keep``: the message outlives the navigation that follows it (e.g. "created", then its page).
export function announce(message, kind = 'ok', keep = false) {
  const region = notice();
  region.replaceChildren(alertBox(kind, message));
  keepOnce = keep;
}

export function clearNotice() {
  if (keepOnce) {
    keepOnce = false;
    return;
  }
  notice().replaceChildren();
}

export function when(moment) {
  if (!moment) return '—';
  const date = new Date(moment);
  return date.toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: 'short' });
}

export function duration(seconds) {
  if (seconds === null || seconds === undefined) return '—';
  if (seconds < 60) return `${Math.round(seconds)} s`;
  if (seconds < 3600) return `${Math.round(seconds / 60)} min`;
  if (seconds < 86400) return `${(seconds / 3600).toFixed(1)} h`;
  return `${(seconds / 86400).toFixed(1)} d`;
}

export function percent(share) {
  return share === null || share === undefined ? '—' : `${Math.round(share * 1000) / 10} %`;
}

export function badge(text, kind = '') {
  return h('span', { class: `badge ${kind}` }, text);
}

// Telegram-safe Markdown as the bot renders it (bot/formatting.py): *bold*, **bold**, _italic_,
// `code`, [label](url); the rest is plain text.
const INLINE = /\*\*([^\n*]+?)\*\*|(?<![\w*])\*([^\s*](?:[^\n*]*?[^\s*])?)\*(?![\w*])|(?<!\w)_([^\s_](?:[^\n_]*?[^\s_])?)_(?!\w)|`([^`\n]+)`|\[([^\]\n]+)\]\(((?:https?:\/\/|tg:\/\/|mailto:)[^\s)]+)\)/gu;

export function telegramPreview(markdown) {
  const parts = [];
  let position = 0;
  for (const match of markdown.matchAll(INLINE)) {
    parts.push(markdown.slice(position, match.index));
    const [, bold2, bold, italic, code, label, url] = match;
    if (bold2 !== undefined || bold !== undefined) parts.push(h('b', null, bold2 ?? bold));
    else if (italic !== undefined) parts.push(h('i', null, italic));
    else if (code !== undefined) parts.push(h('code', null, code));
    else parts.push(h('a', { href: url, rel: 'noopener noreferrer', target: '_blank' }, label));
    position = match.index + match[0].length;
  }
  parts.push(markdown.slice(position));
  return parts;
}

// A line diff (longest common subsequence): what changed between two versions of a text.
export function lineDiff(before, after) {
  const a = before.split('\n');
  const b = after.split('\n');
  const lengths = Array.from({ length: a.length + 1 }, () => new Array(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i -= 1) {
    for (let j = b.length - 1; j >= 0; j -= 1) {
      lengths[i][j] = a[i] === b[j] ? lengths[i + 1][j + 1] + 1 : Math.max(lengths[i + 1][j], lengths[i][j + 1]);
    }
  }
  const lines = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      lines.push(h('span', null, `  ${a[i]}\n`));
      i += 1; j += 1;
    } else if (j < b.length && (i === a.length || lengths[i][j + 1] >= lengths[i + 1][j])) {
      lines.push(h('span', { class: 'diff-add' }, `+ ${b[j]}\n`));
      j += 1;
    } else {
      lines.push(h('span', { class: 'diff-del' }, `− ${a[i]}\n`));
      i += 1;
    }
  }
  return h('pre', { class: 'diff' }, lines);
}

export function download(filename, blob) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: filename, class: 'visually-hidden' }, filename);
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

// A button that asks once more before it acts (no window.confirm: it blocks and is not styled).
export function confirmButton(label, question, onConfirm, kind = 'danger') {
  const holder = h('span', { class: 'actions' });
  const start = h('button', { type: 'button', class: kind, onclick: () => ask() }, label);
  function ask() {
    const yes = h('button', { type: 'button', class: kind, onclick: () => { reset(); onConfirm(); } }, `Yes, ${label.toLowerCase()}`);
    const no = h('button', { type: 'button', class: 'quiet', onclick: () => { reset(); start.focus(); } }, 'Cancel');
    holder.replaceChildren(h('span', { role: 'alert' }, question), yes, no);
    yes.focus();
  }
  function reset() { holder.replaceChildren(start); }
  holder.append(start);
  return holder;
}

// Telegram HTML as the bot sent it (<b>, <i>, <code>, <a>, …), rebuilt from an inert parse: only
// those tags survive, as new elements; everything else becomes text.
const TELEGRAM_TAGS = new Set(['B', 'STRONG', 'I', 'EM', 'U', 'INS', 'S', 'STRIKE', 'DEL', 'CODE', 'PRE', 'A', 'BLOCKQUOTE']);

export function telegramHtml(text) {
  const parsed = new DOMParser().parseFromString(`<body>${text}</body>`, 'text/html');
  const rebuild = (node) => [...node.childNodes].map((child) => {
    if (child.nodeType === Node.TEXT_NODE) return child.textContent;
    if (child.nodeType !== Node.ELEMENT_NODE) return null;
    if (!TELEGRAM_TAGS.has(child.tagName)) return rebuild(child);
    const href = child.tagName === 'A' ? child.getAttribute('href') : null;
    const safe = href && /^(https?:|tg:|mailto:)/i.test(href) ? href : null;
    return h(child.tagName.toLowerCase(), safe ? { href: safe, rel: 'noopener noreferrer', target: '_blank' } : null, rebuild(child));
  });
  return rebuild(parsed.body);
}
