// Analytics for leads: the API's report for a period and time zone, drawn as SVG charts, and
// the same figures as a CSV file.
import { get, query } from './api.js';
import { append, h, field, table, errorBox, download, duration, percent } from './ui.js';
import { barChart, columnChart } from './charts.js';

const WEEKDAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const DAY_MS = 86_400_000;

function isoDay(date) { return date.toISOString().slice(0, 10); }

// The zone's UTC offset on that day ("+02:00"), so a period starts at the zone's midnight.
function offsetOf(zone, day) {
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: zone, timeZoneName: 'longOffset' }).formatToParts(new Date(`${day}T12:00:00Z`));
    const name = parts.find((part) => part.type === 'timeZoneName').value;
    return name === 'GMT' ? '+00:00' : name.slice(3);
  } catch {
    return '+00:00';
  }
}

function csvCell(value) {
  const text = String(value ?? '');
  return /[",\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

// One row per figure: section, item, measure, value.
export function reportRows(report) {
  const rows = [['section', 'item', 'measure', 'value']];
  const add = (section, item, measure, value) => rows.push([section, item, measure, value ?? '']);
  add('period', 'start', '', report.start);
  add('period', 'end', '', report.end);
  add('period', 'timezone', '', report.timezone);
  add('conversations', 'all', 'total', report.conversations.total);
  add('conversations', 'all', 'resolved_by_bot', report.conversations.resolved_by_bot);
  add('conversations', 'all', 'bot_resolution_rate', report.conversations.bot_resolution_rate);
  add('handoffs', 'all', 'total', report.handoffs.total);
  add('handoffs', 'all', 'reopened', report.handoffs.reopened);
  for (const day of report.conversations.by_day) {
    add('conversations_by_day', day.day, 'total', day.total);
    add('conversations_by_day', day.day, 'resolved_by_bot', day.resolved_by_bot);
  }
  for (const [reason, count] of Object.entries(report.handoffs.by_reason)) add('handoffs', reason, 'count', count);
  add('uncovered_questions', 'all', 'count', report.uncovered_questions);
  const service = (section, item, levels) => {
    add(section, item, 'tickets', levels.tickets);
    add(section, item, 'first_response_median_seconds', levels.first_response.median_seconds);
    add(section, item, 'first_response_p90_seconds', levels.first_response.p90_seconds);
    add(section, item, 'resolution_median_seconds', levels.resolution.median_seconds);
    add(section, item, 'resolution_p90_seconds', levels.resolution.p90_seconds);
    add(section, item, 'csat_count', levels.csat.count);
    add(section, item, 'csat_mean', levels.csat.mean);
    for (const [rating, count] of Object.entries(levels.csat.distribution)) add(section, item, `csat_${rating}`, count);
  };
  service('tickets', 'all', report.tickets);
  for (const agent of report.agents) service('agent', agent.name, agent.service);
  for (const [kind, count] of Object.entries(report.sla_breaches)) add('sla_breaches', kind, 'count', count);
  for (const [hour, count] of Object.entries(report.volume.by_hour)) add('volume_by_hour', hour, 'messages', count);
  for (const [day, count] of Object.entries(report.volume.by_weekday)) add('volume_by_weekday', day, 'messages', count);
  for (const usage of report.top_faq) {
    add('top_faq', usage.faq_key, 'answers', usage.answers);
    add('top_faq', usage.faq_key, 'helpful', usage.helpful);
    add('top_faq', usage.faq_key, 'not_helpful', usage.not_helpful);
  }
  return rows;
}

export async function analyticsPage(page) {
  const today = new Date();
  const start = h('input', { type: 'date', name: 'start', value: isoDay(new Date(today.getTime() - 6 * DAY_MS)), required: true });
  const end = h('input', { type: 'date', name: 'end', value: isoDay(today), required: true });
  const zone = h('input', { type: 'text', name: 'timezone', placeholder: "the line's time zone", value: '' });
  const output = h('div', { id: 'report', 'aria-live': 'polite' });
  const form = h('form', { class: 'card' },
    h('div', { class: 'row' }, field('From (first day)', start), field('To (last day)', end), field('Time zone', zone, 'IANA name, e.g. Europe/Kyiv; empty: the line\'s.')),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Show')));
  let report = null;
  const exportButton = h('button', { type: 'button', class: 'quiet', disabled: true, onclick: () => {
    const csv = reportRows(report).map((row) => row.map(csvCell).join(',')).join('\r\n');
    download(`firstline-analytics-${start.value}-${end.value}.csv`, new Blob([`${csv}\r\n`], { type: 'text/csv' }));
  } }, 'Export CSV');

  async function load() {
    const timeZone = zone.value.trim() || 'UTC';
    const lastDay = new Date(`${end.value}T00:00:00Z`);
    const after = isoDay(new Date(lastDay.getTime() + DAY_MS));
    const wanted = {
      start: `${start.value}T00:00:00${offsetOf(timeZone, start.value)}`,
      end: `${after}T00:00:00${offsetOf(timeZone, after)}`,
      timezone: zone.value.trim(),
    };
    output.replaceChildren(h('p', { class: 'muted' }, 'Counting…'));
    try {
      report = await get(`/analytics${query(wanted)}`);
    } catch (error) {
      output.replaceChildren(errorBox(error));
      exportButton.disabled = true;
      return;
    }
    exportButton.disabled = false;
    output.replaceChildren(...drawReport(report));
  }
  form.addEventListener('submit', (event) => { event.preventDefault(); load(); });
  append(page, h('h1', null, 'Analytics'), form, h('div', { class: 'actions' }, exportButton), output);
  await load();
}

function tile(label, value) {
  return h('div', { class: 'tile' }, h('div', { class: 'muted' }, label), h('div', { class: 'value' }, value));
}

function drawReport(report) {
  const hours = Array.from({ length: 24 }, (_, hour) => hour);
  const tickets = report.tickets;
  const days = report.conversations.by_day;
  const reasons = Object.entries(report.handoffs.by_reason);
  const breaches = Object.entries(report.sla_breaches);
  const minutes = (seconds) => (seconds === null || seconds === undefined ? 0 : seconds / 60);
  const service = [
    ['First response, median', tickets.first_response.median_seconds],
    ['First response, p90', tickets.first_response.p90_seconds],
    ['Resolution, median', tickets.resolution.median_seconds],
    ['Resolution, p90', tickets.resolution.p90_seconds],
  ];
  return [
    h('p', { class: 'muted' }, `${new Date(report.start).toLocaleString('en-GB')} – ${new Date(report.end).toLocaleString('en-GB')}, ${report.timezone}`),
    h('div', { class: 'tiles' },
      tile('Conversations', report.conversations.total),
      tile('Resolved by the bot', `${report.conversations.resolved_by_bot} (${percent(report.conversations.bot_resolution_rate)})`),
      tile('Handoffs', report.handoffs.total), tile('Reopened', report.handoffs.reopened),
      tile('Uncovered questions', report.uncovered_questions), tile('Tickets', tickets.tickets),
      tile('CSAT', tickets.csat.mean === null ? '—' : `${tickets.csat.mean.toFixed(2)} / 5 (${tickets.csat.count})`)),
    h('div', { class: 'charts' },
      barChart('Conversations: resolved by the bot and not', ['Resolved by the bot', 'Not by the bot'],
        [report.conversations.resolved_by_bot, report.conversations.total - report.conversations.resolved_by_bot], { id: 'chart-resolution' }),
      columnChart('Conversations by day', days.map((day) => day.day.slice(5)), days.map((day) => day.total), { id: 'chart-days' }),
      columnChart('Resolved by the bot, by day (%)', days.map((day) => day.day.slice(5)),
        days.map((day) => (day.total ? Math.round((100 * day.resolved_by_bot) / day.total) : 0)), { format: (value) => `${value}%`, id: 'chart-days-resolved' }),
      barChart('Handoffs by reason', reasons.map(([reason]) => reason), reasons.map(([, count]) => count), { id: 'chart-reasons' }),
      columnChart('Messages by hour', hours.map(String), hours.map((hour) => report.volume.by_hour[hour] ?? 0), { id: 'chart-hours' }),
      columnChart('Messages by weekday', WEEKDAYS, WEEKDAYS.map((day) => report.volume.by_weekday[day] ?? 0), { id: 'chart-weekdays' }),
      barChart('Response and resolution times (minutes)', service.map(([label]) => label), service.map(([, seconds]) => minutes(seconds)),
        { format: (value) => (value ? duration(value * 60) : '—'), id: 'chart-times' }),
      columnChart('Ratings (CSAT)', ['1', '2', '3', '4', '5'], [1, 2, 3, 4, 5].map((rating) => tickets.csat.distribution[rating] ?? 0), { id: 'chart-csat' }),
      barChart('SLA breaches', breaches.map(([kind]) => kind), breaches.map(([, count]) => count), { id: 'chart-sla' }),
      barChart('Tickets per agent', report.agents.map((agent) => agent.name), report.agents.map((agent) => agent.service.tickets), { id: 'chart-agents' })),
    h('h2', null, 'Per agent'),
    table(['Agent', 'Tickets', 'First response (median / p90)', 'Resolution (median / p90)', 'CSAT'], report.agents.map((agent) => [
      agent.name, agent.service.tickets,
      `${duration(agent.service.first_response.median_seconds)} / ${duration(agent.service.first_response.p90_seconds)}`,
      `${duration(agent.service.resolution.median_seconds)} / ${duration(agent.service.resolution.p90_seconds)}`,
      agent.service.csat.mean === null ? '—' : `${agent.service.csat.mean.toFixed(2)} (${agent.service.csat.count})`,
    ]), 'Per agent'),
    h('h2', null, 'Top FAQ entries'),
    table(['Entry', 'Question', 'Answers', '👍 Helped', '👎 Not that'], report.top_faq.map((usage) => [
      h('a', { href: `#/faq/entry/${encodeURIComponent(usage.faq_key)}` }, usage.faq_key), usage.question ?? '(gone)',
      usage.answers, usage.helpful, usage.not_helpful,
    ]), 'Top FAQ entries'),
  ];
}
