// Settings for admins: business hours, SLA targets, canned replies, routing rules, tokens.
import { get, put, post, del } from './api.js';
import { append, h, field, select, table, errorBox, alertBox, announce, when, badge, confirmButton } from './ui.js';

const WEEKDAYS = [['mon', 'Monday'], ['tue', 'Tuesday'], ['wed', 'Wednesday'], ['thu', 'Thursday'], ['fri', 'Friday'], ['sat', 'Saturday'], ['sun', 'Sunday']];
const PRIORITIES = ['urgent', 'high', 'normal', 'low'];
const list = (text) => text.split(',').map((part) => part.trim()).filter(Boolean);

function section(id, title, ...content) {
  return h('section', { class: 'card', id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), content);
}

// What the section's save did: an error, or a confirmation spoken by the live region.
async function saving(problem, action, done) {
  problem.replaceChildren();
  try {
    await action();
    announce(done);
    return true;
  } catch (error) {
    problem.replaceChildren(errorBox(error));
    return false;
  }
}

async function hoursSection() {
  const hours = await get('/settings/business-hours');
  const zone = h('input', { type: 'text', name: 'timezone', value: hours.timezone, required: true });
  const holidays = h('input', { type: 'text', name: 'holidays', value: hours.holidays ?? '' });
  const days = Object.fromEntries(WEEKDAYS.map(([day]) => [day, h('input', { type: 'text', name: day, value: (hours.weekly[day] ?? []).join(', '), placeholder: 'closed' })]));
  const special = h('textarea', { name: 'special_days', rows: 3, value: hours.special_days.map((d) => `${d.date} ${d.hours.length ? d.hours.join(',') : 'closed'}${d.note ? ` ${d.note}` : ''}`).join('\n') });
  const problem = h('div');
  const state = alertBox('info', hours.open_now ? badge('open now', 'good') : badge('closed now', 'bad'), ' ',
    hours.next_change ? `${hours.open_now ? 'Closes' : 'Opens'} ${when(hours.next_change)}.` : 'No change ahead.', ` Weekly: ${hours.schedule}`);
  const form = h('form', null, state,
    h('div', { class: 'row' }, field('Time zone', zone, 'IANA name, e.g. Europe/Kyiv'), field('Public holidays of', holidays, 'Country code, e.g. PL; empty for none')),
    h('div', { class: 'row' }, WEEKDAYS.map(([day, name]) => field(name, days[day], 'e.g. 09:00-18:00, or 09:00-13:00, 14:00-18:00; empty: closed'))),
    field('Special days', special, 'One a line: 2026-12-31 10:00-14:00 New Year\'s Eve, or 2026-12-25 closed'),
    problem, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save business hours')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const specialDays = special.value.split('\n').map((line) => line.trim()).filter(Boolean).map((line) => {
      const [date, spans = 'closed', ...note] = line.split(/\s+/);
      return { date, hours: spans === 'closed' ? [] : list(spans), note: note.join(' ') };
    });
    const body = {
      timezone: zone.value.trim(),
      weekly: Object.fromEntries(WEEKDAYS.map(([day]) => [day, list(days[day].value)]).filter(([, spans]) => spans.length)),
      holidays: holidays.value.trim() || null,
      special_days: specialDays,
    };
    if (await saving(problem, () => put('/settings/business-hours', body), 'Business hours saved: the bot follows them now.')) {
      form.closest('section').replaceWith(await hoursSection());
    }
  });
  return section('hours', 'Business hours', form);
}

async function slaSection() {
  const sla = await get('/settings/sla');
  const inputs = {};
  const rows = PRIORITIES.map((priority) => {
    const target = sla.targets[priority];
    inputs[priority] = {
      first: h('input', { type: 'number', min: 1, name: `${priority}-first`, value: target.first_response_minutes, 'aria-label': `${priority}: first response, minutes` }),
      resolution: h('input', { type: 'number', min: 1, name: `${priority}-resolution`, value: target.resolution_minutes, 'aria-label': `${priority}: resolution, minutes` }),
    };
    return [priority, inputs[priority].first, inputs[priority].resolution];
  });
  const warn = h('input', { type: 'number', min: 1, max: 99, name: 'warn_at', value: Math.round(sla.warn_at * 100) });
  const problem = h('div');
  const form = h('form', null, table(['Priority', 'First response (minutes)', 'Resolution (minutes)'], rows, 'Service-level targets'),
    field('Warn agents at (% of the target)', warn), problem, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save SLA targets')));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const targets = Object.fromEntries(PRIORITIES.map((p) => [p, { first_response_minutes: Number(inputs[p].first.value), resolution_minutes: Number(inputs[p].resolution.value) }]));
    saving(problem, () => put('/settings/sla', { targets, warn_at: Number(warn.value) / 100 }), 'SLA targets saved.');
  });
  return section('sla', 'Service levels (in open hours)', form);
}

async function cannedSection() {
  const replies = await get('/settings/canned-replies');
  const name = h('input', { type: 'text', name: 'name', required: true, pattern: '[\\w\\-]{1,64}' });
  const text = h('textarea', { name: 'text', rows: 3, required: true });
  const problem = h('div');
  const reload = async () => document.getElementById('canned').replaceWith(await cannedSection());
  const form = h('form', null, h('div', { class: 'row' }, field('Name', name, 'Agents send it with /reply <name>')),
    field('Text', text, '{name} becomes the customer\'s first name'), problem,
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save canned reply')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    if (await saving(problem, () => put(`/settings/canned-replies/${encodeURIComponent(name.value.trim())}`, { text: text.value }), `Canned reply ${name.value} saved.`)) await reload();
  });
  return section('canned', 'Canned replies',
    table(['Name', 'Text', ''], replies.map((reply) => [reply.name, reply.text, h('span', { class: 'actions' },
      h('button', { type: 'button', class: 'quiet', 'aria-label': `Edit ${reply.name}`, onclick: () => { name.value = reply.name; text.value = reply.text; text.focus(); } }, 'Edit'),
      confirmButton('Delete', `Delete the canned reply ${reply.name}?`, () => saving(problem, () => del(`/settings/canned-replies/${encodeURIComponent(reply.name)}`), `Deleted ${reply.name}.`).then(reload)))]), 'Canned replies'),
    form);
}

async function routingSection() {
  const rules = await get('/settings/routing-rules');
  const name = h('input', { type: 'text', name: 'rule', required: true });
  const keywords = h('input', { type: 'text', name: 'keywords' });
  const language = h('input', { type: 'text', name: 'rule-language' });
  const tag = h('input', { type: 'text', name: 'rule-tag' });
  const priority = select('rule-priority', [['', 'Leave as it is'], ...PRIORITIES.map((p) => [p, p])], '');
  const addTags = h('input', { type: 'text', name: 'add_tags' });
  const team = h('input', { type: 'text', name: 'rule-team' });
  const returning = h('input', { type: 'number', name: 'returning-days', min: '1', max: '365' });
  const problem = h('div');
  const reload = async () => document.getElementById('routing').replaceWith(await routingSection());
  const form = h('form', null,
    h('div', { class: 'row' }, field('Rule name', name), field('Keywords', keywords, 'Separated by commas'), field('Language', language, 'ru, uk, en; empty: any'), field('Entry tag', tag)),
    h('div', { class: 'row' }, field('Set priority', priority), field('Add tags', addTags, 'Separated by commas'), field('Send to team', team, 'A team\'s name (see Teams); empty: by the services\' tags'),
      field('Only customers this team helped within (days)', returning, 'Empty: any customer')),
    problem, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Save routing rule')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const body = { keywords: list(keywords.value), language: language.value.trim() || null, tag: tag.value.trim() || null, priority: priority.value || null, add_tags: list(addTags.value), team: team.value.trim() || null, returning_days: returning.value ? Number(returning.value) : null };
    if (await saving(problem, () => put(`/settings/routing-rules/${encodeURIComponent(name.value.trim())}`, body), `Routing rule ${name.value} saved.`)) await reload();
  });
  return section('routing', 'Routing rules',
    table(['Rule', 'When', 'Then', ''], rules.map((rule) => [rule.name,
      [rule.keywords.length ? `words: ${rule.keywords.join(', ')}` : '', rule.language ? `language ${rule.language}` : '', rule.tag ? `entry tag ${rule.tag}` : '', rule.returning_days ? `helped by ${rule.team} within ${rule.returning_days} days` : ''].filter(Boolean).join('; ') || 'every handoff',
      [rule.priority ? `priority ${rule.priority}` : '', rule.add_tags.length ? `tags ${rule.add_tags.join(', ')}` : '', rule.team ? `team ${rule.team}` : ''].filter(Boolean).join('; ') || '—',
      confirmButton('Delete', `Delete the rule ${rule.name}?`, () => saving(problem, () => del(`/settings/routing-rules/${encodeURIComponent(rule.name)}`), `Deleted ${rule.name}.`).then(reload))]), 'Routing rules'),
    form);
}

async function tokensSection() {
  const tokens = await get('/tokens');
  const name = h('input', { type: 'text', name: 'token-name', required: true });
  const role = select('token-role', [['editor', 'Editor'], ['agent', 'Agent'], ['admin', 'Admin']], 'editor');
  const agent = h('input', { type: 'text', name: 'token-agent' });
  const issued = h('div', { 'aria-live': 'polite' });
  const problem = h('div');
  const reload = async () => { const fresh = await tokensSection(); document.getElementById('tokens').replaceWith(fresh); return fresh; };
  const form = h('form', null,
    h('div', { class: 'row' }, field('Whose token', name), field('Role', role), field('Agent in Telegram', agent, 'For an agent: @username known in the agents\' group (optional)')),
    problem, h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create token')));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.replaceChildren();
    try {
      const made = await post('/tokens', { name: name.value.trim(), role: role.value, agent: agent.value.trim() || null });
      const fresh = await reload();
      const secret = h('input', { type: 'text', readonly: true, class: 'secret', value: made.token, name: 'new-token' });
      fresh.querySelector('[data-issued]').replaceChildren(alertBox('ok', h('strong', null, `Token for ${made.name} (${made.role}). `), 'Copy it now: it is shown only once.', field('New token', secret)));
      secret.select();
      secret.focus();
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  });
  issued.setAttribute('data-issued', '');
  return section('tokens', 'API tokens', issued,
    table(['Name', 'Role', 'Starts with', 'Created', 'Last used', 'State'], tokens.map((token) => [
      token.name, token.role, h('span', { class: 'secret' }, token.prefix), when(token.created_at), when(token.last_used_at),
      token.revoked_at ? badge(`revoked ${when(token.revoked_at)}`, 'bad')
        : confirmButton('Revoke', `Revoke ${token.name}'s token? It stops working at once.`, () => saving(problem, () => del(`/tokens/${token.id}`), `Revoked ${token.name}'s token.`).then(reload)),
    ]), 'API tokens'),
    form);
}

export async function settingsPage(page) {
  append(page, h('h1', null, 'Settings'));
  const sections = await Promise.all([hoursSection(), slaSection(), cannedSection(), routingSection(), tokensSection()]);
  append(page, ...sections);
}
