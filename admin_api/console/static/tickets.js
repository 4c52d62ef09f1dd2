// Tickets for agents: the queue with filters, one ticket's conversation and audit trail, and the
// desk's actions through the API (which applies the same rules as the Telegram desk).
import { get, post, query, session, whoami } from './api.js';
import { append, h, field, select, table, errorBox, announce, when, badge, alertBox, telegramHtml } from './ui.js';

const PAGE = 50;
const STATUSES = [['', 'Any'], ['new', 'New'], ['open', 'Open'], ['waiting_for_customer', 'Waiting for the customer'], ['resolved', 'Resolved'], ['closed', 'Closed']];
const PRIORITIES = [['urgent', 'Urgent'], ['high', 'High'], ['normal', 'Normal'], ['low', 'Low']];
const filters = { status: '', priority: '', assignee: '', language: '', tag: '', offset: 0 };
const STATUS_KIND = { new: 'warn', open: 'good', waiting_for_customer: '', resolved: '', closed: '' };
const STATUS_TEXT = { new: '🆕 new', open: 'open', waiting_for_customer: '⏳ waiting for the customer', resolved: 'resolved', closed: '✅ closed' };
const PRIORITY_MARK = { urgent: '🔥 urgent', high: '❗ high', normal: 'normal', low: 'low' };

export async function ticketList(page) {
  const status = select('status', STATUSES, filters.status);
  const priority = select('priority', [['', 'Any'], ...PRIORITIES], filters.priority);
  const mine = session.caller.agent_id;
  const assignee = select('assignee', [['', 'Anyone or no one'], ['none', 'No one (unowned)'], ...(mine ? [[String(mine), 'Me']] : [])], filters.assignee);
  const language = select('language', [['', 'Any'], ['ru', 'Russian'], ['uk', 'Ukrainian'], ['en', 'English']], filters.language);
  const tag = h('input', { type: 'text', name: 'tag', value: filters.tag });
  const results = h('div', { 'aria-live': 'polite' });
  const form = h('form', { class: 'card', role: 'search', 'aria-label': 'Filter tickets' },
    h('div', { class: 'row' }, field('Status', status), field('Priority', priority), field('Assignee', assignee), field('Language', language), field('Tag', tag)),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Filter')));
  const refresh = () => {
    Object.assign(filters, { status: status.value, priority: priority.value, assignee: assignee.value, language: language.value, tag: tag.value.trim(), offset: 0 });
    load();
  };
  form.addEventListener('submit', (event) => { event.preventDefault(); refresh(); });
  for (const control of [status, priority, assignee, language]) control.addEventListener('change', refresh);

  async function load() {
    let found;
    try {
      found = await get(`/tickets${query({ ...filters, limit: PAGE })}`);
    } catch (error) {
      results.replaceChildren(errorBox(error));
      return;
    }
    const rows = found.items.map((ticket) => [
      h('a', { href: `#/tickets/${ticket.id}` }, `#${ticket.id}`),
      badge(STATUS_TEXT[ticket.status] ?? ticket.status, STATUS_KIND[ticket.status]), PRIORITY_MARK[ticket.priority] ?? ticket.priority,
      ticket.customer_name, ticket.subject, ticket.assignee_id === null ? 'no one' : (ticket.assignee_id === mine ? 'me' : agentName(ticket.assignee_name, ticket.assignee_id)),
      ticket.language, when(ticket.created_at),
    ]);
    const pages = Math.max(1, Math.ceil(found.total / PAGE));
    const current = Math.floor(filters.offset / PAGE) + 1;
    results.replaceChildren(
      h('p', { class: 'muted' }, `${found.total} tickets`),
      table(['Ticket', 'Status', 'Priority', 'Customer', 'Subject', 'Assignee', 'Language', 'Opened'], rows, 'Tickets'),
      h('div', { class: 'pager' },
        h('button', { type: 'button', class: 'quiet', disabled: current <= 1, onclick: () => { filters.offset -= PAGE; load(); } }, 'Previous page'),
        h('span', null, `Page ${current} of ${pages}`),
        h('button', { type: 'button', class: 'quiet', disabled: current >= pages, onclick: () => { filters.offset += PAGE; load(); } }, 'Next page')),
    );
  }
  append(page, h('h1', null, 'Tickets'), form, results);
  await load();
}

// An agent as Telegram named them; their id where no name is known.
function agentName(name, id) {
  return name || `agent ${id}`;
}

function message(item) {
  const who = item.direction === 'in' ? 'Customer' : (item.agent_id ? `${agentName(item.agent_name, item.agent_id)} (agent)` : 'Bot');
  const delivery = item.delivery && item.delivery !== 'delivered' ? ` · ${item.delivery === 'pending' ? '⏳ not delivered yet' : '⚠ not delivered'}` : '';
  return h('li', { class: item.direction === 'in' ? 'in' : 'out' },
    h('span', { class: 'meta' }, `${who} · ${when(item.created_at)}${item.kind !== 'text' ? ` · ${item.kind}` : ''}${delivery}`),
    // What the bot sent is stored as the Telegram HTML it sent; the customer's words as typed.
    item.text === null ? (item.has_media ? '(media)' : '') : (item.direction === 'out' ? telegramHtml(item.text) : item.text));
}

function eventRow(event) {
  const details = event.details ? Object.entries(event.details).map(([k, v]) => `${k}: ${typeof v === 'object' ? JSON.stringify(v) : v}`).join('; ') : '';
  return [when(event.created_at), event.action, event.agent_name ? `${event.actor}: ${event.agent_name}` : event.actor, details];
}

export async function ticketPage(page, id) {
  const ticket = await get(`/tickets/${id}`);
  const problem = h('div', { id: 'ticket-problem' });
  const mine = session.caller.agent_id !== null && ticket.assignee_id === session.caller.agent_id;
  const closed = ticket.status === 'closed';

  async function act(path, body, done) {
    problem.replaceChildren();
    try {
      await post(`/tickets/${id}/${path}`, body);
      // The first action links the token to an agent: learn its id (the "Me" filter, "you").
      if (session.caller.agent_id === null) session.caller = await whoami(session.token);
      announce(done);
      page.replaceChildren();
      await ticketPage(page, id);
    } catch (error) {
      problem.replaceChildren(errorBox(error));
    }
  }

  const reply = h('textarea', { name: 'reply', rows: 3, required: true });
  const replyForm = h('form', { class: 'card', 'aria-labelledby': 'reply-title' },
    h('h2', { id: 'reply-title' }, 'Reply to the customer'),
    field('Reply', reply, 'Sent through the bot; taking the ticket first if no one owns it.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Send reply')));
  replyForm.addEventListener('submit', (event) => { event.preventDefault(); act('reply', { text: reply.value }, 'Reply sent to the customer.'); });

  const note = h('textarea', { name: 'note', rows: 2, required: true });
  const noteForm = h('form', { class: 'card', 'aria-labelledby': 'note-title' },
    h('h2', { id: 'note-title' }, 'Internal note'),
    field('Note', note, 'For agents only: never sent to the customer.'),
    h('div', { class: 'actions' }, h('button', { type: 'submit', class: 'quiet' }, 'Add note')));
  noteForm.addEventListener('submit', (event) => { event.preventDefault(); act('notes', { text: note.value }, 'Note added.'); });

  const priority = select('priority', PRIORITIES, ticket.priority);
  const priorityForm = h('form', { class: 'row' }, field('Priority', priority), h('div', { class: 'field' }, h('button', { type: 'submit', class: 'quiet' }, 'Set priority')));
  priorityForm.addEventListener('submit', (event) => { event.preventDefault(); act('priority', { priority: priority.value }, `Priority set to ${priority.value}.`); });

  const facts = [
    ['Status', badge(STATUS_TEXT[ticket.status] ?? ticket.status, STATUS_KIND[ticket.status])], ['Priority', PRIORITY_MARK[ticket.priority]],
    ['Customer', ticket.customer_name], ['Language', ticket.language], ['Tags', ticket.tags.join(', ') || '—'],
    ['Why handed off', ticket.reason], ['Owner', ticket.assignee_id === null ? 'no one' : (mine ? 'you' : agentName(ticket.assignee_name, ticket.assignee_id))],
    ['Opened', when(ticket.created_at)], ['First response', when(ticket.first_response_at)], ['Resolved', when(ticket.resolved_at)],
    ['Rating', ticket.rating ? `${'⭐'.repeat(ticket.rating)} (${ticket.rating}/5)${ticket.rating_comment ? ` “${ticket.rating_comment}”` : ''}` : '—'],
  ];
  append(page, 
    h('p', null, h('a', { href: '#/tickets' }, '← All tickets')),
    h('h1', null, `Ticket #${ticket.id}: ${ticket.subject}`),
    h('section', { class: 'card' }, h('dl', { class: 'facts' }, facts.map(([name, value]) => [h('dt', null, name), h('dd', null, value)])),
      h('div', { class: 'actions' },
        !closed && ticket.assignee_id === null ? h('button', { type: 'button', onclick: () => act('take', undefined, `You took ticket #${id}.`) }, 'Take') : null,
        priorityForm,
        !closed ? h('button', { type: 'button', class: 'quiet', onclick: () => act('close', undefined, `Ticket #${id} closed; the customer is asked to rate.`) }, 'Close ticket') : null)),
    problem,
    !closed && ticket.assignee_id !== null && !mine ? alertBox('info', 'A colleague owns this ticket: only they may reply.') : null,
    h('section', { class: 'card', 'aria-labelledby': 'conversation-title' },
      h('h2', { id: 'conversation-title' }, 'Conversation'),
      h('ol', { class: 'messages', id: 'conversation' }, ticket.conversation.map(message))),
    !closed ? replyForm : null,
    noteForm,
    h('section', { 'aria-labelledby': 'events-title' }, h('h2', { id: 'events-title' }, 'Audit trail'),
      table(['When', 'What', 'Who', 'Details'], ticket.events.map(eventRow), 'Audit trail')),
  );
}
