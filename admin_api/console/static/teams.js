// Teams for admins: the lines and departments (each with its own forum group, or a small team's
// topic in the main group, and the services it owns), made and changed here; and their figures for the last 7 days, per team and per line.
import { get, post, del, request } from './api.js';
import { append, h, field, select, table, errorBox, announce, badge, confirmButton, duration, percent } from './ui.js';

const LEVELS = [['first', 'First line'], ['second', 'Second line'], ['third', 'Third line'], ['department', 'Department']];
const LEVEL_NAMES = Object.fromEntries(LEVELS);
const list = (text) => text.split(',').map((part) => part.trim()).filter(Boolean);

function section(id, title, ...content) {
  return h('section', { class: 'card', id, 'aria-labelledby': `${id}-title` }, h('h2', { id: `${id}-title` }, title), content);
}

async function teamsSection() {
  const teams = await get('/teams');
  const name = h('input', { type: 'text', name: 'team-name', required: true, maxlength: 100 });
  const level = select('team-level', LEVELS, 'second');
  const group = h('input', { type: 'text', name: 'team-group', inputmode: 'numeric', pattern: '-?[0-9]+' });
  const inMain = h('input', { type: 'checkbox', name: 'team-in-main-group', id: 'team-in-main-group' });
  inMain.addEventListener('change', () => { group.disabled = inMain.checked; });
  const tags = h('input', { type: 'text', name: 'team-tags' });
  const problem = h('div');
  const submit = h('button', { type: 'submit' }, 'Create team');
  let editing = null;
  const reload = async () => document.getElementById('teams').replaceWith(await teamsSection());
  const edit = (team) => {
    editing = team;
    name.value = team.name;
    level.value = team.level;
    group.value = team.agent_chat_id ?? '';
    inMain.checked = team.in_main_group;
    group.disabled = team.in_main_group;
    tags.value = team.tags.join(', ');
    submit.textContent = `Save ${team.name}`;
    name.focus();
  };
  const form = h('form', null,
    h('div', { class: 'row' },
      field('Team name', name, 'Agents write /escalate <name>'),
      field('Level', level),
      field('Forum group id', group, 'The team\'s Telegram group, e.g. -1001234567890; empty for the default team: FIRSTLINE_AGENT_CHAT_ID'),
      field('A topic in the main group', inMain, 'A small team without a group: its tickets open in the main agents\' group, and the bot opens a topic named after it there'),
      field('Services (tags)', tags, 'FAQ entries\' tags it owns, separated by commas: such tickets open in its group')),
    problem, h('div', { class: 'actions' }, submit));
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    problem.replaceChildren();
    const ownGroup = !inMain.checked && group.value.trim() ? Number(group.value) : null;
    const body = { name: name.value.trim(), level: level.value, agent_chat_id: ownGroup, in_main_group: inMain.checked, tags: list(tags.value) };
    try {
      if (editing) await request('PATCH', `/teams/${editing.id}`, { json: body });
      else await post('/teams', body);
      announce(`Team ${body.name} saved: new tickets follow it now.`);
      await reload();
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  });
  const rows = teams.map((team) => [
    team.is_default ? h('span', null, team.name, ' ', badge('default', 'good')) : team.name,
    LEVEL_NAMES[team.level],
    team.in_main_group ? `a topic in ${team.group ?? 'the main group (not set)'}` : team.group ?? 'none (API only)',
    team.tags.join(', ') || '—',
    h('span', null, team.open_now ? badge('open now', 'good') : badge('closed now', 'bad'), team.business_hours ? ' own hours' : ' line\'s hours'),
    String(team.waiting),
    team.members.map((member) => member.username ? `@${member.username}` : member.name).join(', ') || '—',
    h('span', { class: 'actions' },
      h('button', { type: 'button', class: 'quiet', 'aria-label': `Edit ${team.name}`, onclick: () => edit(team) }, 'Edit'),
      team.is_default ? null : confirmButton('Delete', `Delete the team ${team.name}?`, async () => {
        problem.replaceChildren();
        try {
          await del(`/teams/${team.id}`);
          announce(`Deleted ${team.name}.`);
          await reload();
        } catch (error) {
          problem.replaceChildren(errorBox(error));
        }
      })),
  ]);
  return section('teams', 'Teams',
    table(['Team', 'Level', 'Forum group', 'Services', 'Hours', 'Waiting', 'Members', ''], rows, 'Teams'),
    form);
}

async function figuresSection() {
  const report = await get('/analytics/teams');
  const rate = (share) => (share === null ? '—' : percent(share));
  const time = (stats) => (stats.median_seconds === null ? '—' : duration(stats.median_seconds));
  return section('team-figures', 'Last 7 days per team and per line',
    h('p', null, `${report.tickets} tickets opened; ${report.solved_by_first_line} solved by the first line without escalation.`),
    table(['Team', 'Received', 'Escalated up', 'Escalation rate', 'Passed back', 'Resolved', 'First reply (median)', 'Resolution (median)', 'CSAT', 'SLA breaches'],
      report.teams.map((team) => [team.name, String(team.received), String(team.escalated_up), rate(team.escalation_rate), String(team.passed_elsewhere),
        String(team.resolved_here), time(team.first_response), time(team.resolution), team.csat.mean === null ? '—' : team.csat.mean.toFixed(2), String(team.sla_breaches)]),
      'Per team'),
    table(['Line', 'Received', 'Escalated to a higher line', 'Escalation rate'],
      report.lines.map((line) => [LEVEL_NAMES[line.level], String(line.received), String(line.escalated_up), rate(line.escalation_rate)]),
      'Per line'));
}

export async function teamsPage(page) {
  append(page, h('h1', null, 'Teams'));
  try {
    append(page, ...(await Promise.all([teamsSection(), figuresSection()])));
  } catch (error) {
    append(page, errorBox(error));
  }
}
