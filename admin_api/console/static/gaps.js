// Knowledge gaps: what customers asked that the FAQ did not answer, grouped by meaning; one
// click makes a draft entry (or phrasings of the entry agents used); proposals accepted or not.
import { get, post, query } from './api.js';
import { append, h, field, table, errorBox, announce, when } from './ui.js';

const DAY_MS = 86_400_000;

export async function gapsPage(page) {
  // One period for the list and every action on it: a gap's id is found again in the same data.
  const until = new Date().toISOString();
  const since = new Date(Date.now() - 30 * DAY_MS).toISOString();
  const period = query({ since, until });
  const list = h('div', { id: 'gaps' });
  const proposals = h('div', { id: 'proposals' });

  async function loadGaps() {
    let gaps;
    try {
      gaps = await get(`/gaps${period}`);
    } catch (error) {
      list.replaceChildren(errorBox(error));
      return;
    }
    if (!gaps.length) {
      list.replaceChildren(h('p', { class: 'muted' }, 'No unanswered questions in the last 30 days.'));
      return;
    }
    list.replaceChildren(...gaps.map((gap) => gapCard(gap)));
  }

  function gapCard(gap) {
    const work = h('div');
    const card = h('section', { class: 'card', 'data-gap': gap.id, 'aria-labelledby': `${gap.id}-title` },
      h('h3', { id: `${gap.id}-title` }, `“${gap.question}”`),
      h('p', { class: 'muted' }, `${gap.volume} questions from ${gap.customers} customers · ${gap.languages.join(', ')} · last ${when(gap.last_seen)}`,
        gap.nearest_faq_key ? ` · nearest entry: ${gap.nearest_faq_key}` : ''),
      gap.examples.length ? h('details', null, h('summary', null, `Other wordings (${gap.examples.length})`), h('ul', null, gap.examples.map((text) => h('li', null, text)))) : null,
      gap.agent_replies.length ? h('details', null, h('summary', null, `Agents' replies (${gap.agent_replies.length})`),
        h('ul', null, gap.agent_replies.map((reply) => h('li', null, reply.text, reply.faq_key ? ` (entry ${reply.faq_key})` : '')))) : null,
      h('div', { class: 'actions' }, h('button', { type: 'button', onclick: () => prepare(gap, work) }, 'Turn into an entry…')),
      work);
    return card;
  }

  async function prepare(gap, work) {
    let draft;
    try {
      draft = await get(`/gaps/${encodeURIComponent(gap.id)}/draft${period}`);
    } catch (error) {
      work.replaceChildren(errorBox(error));
      return;
    }
    if (draft.kind === 'add_phrasings') {
      const apply = h('button', { type: 'button', onclick: () => applyGap(gap, {}, work) }, `Add ${draft.alt_questions.length} phrasings to ${draft.faq_key}`);
      work.replaceChildren(h('p', null, `Agents answered these with the entry ${draft.faq_key}. These wordings would become its phrasings:`),
        h('ul', null, draft.alt_questions.map((text) => h('li', null, text))), apply);
      apply.focus();
      return;
    }
    const key = h('input', { type: 'text', name: 'key', value: draft.faq_key, required: true });
    const answer = h('textarea', { name: 'answer', rows: 5, value: draft.answer ?? '', required: true });
    const form = h('form', null,
      h('p', null, `A new draft entry for “${draft.question ?? gap.question}” with ${draft.alt_questions.length} phrasings.`),
      field('Key', key), field('Answer', answer, draft.answer ? 'From the agents\' first reply: edit as needed.' : 'No agent answered yet: write the answer.'),
      h('div', { class: 'actions' }, h('button', { type: 'submit' }, 'Create the draft')));
    form.addEventListener('submit', (event) => { event.preventDefault(); applyGap(gap, { key: key.value.trim(), answer: answer.value }, work); });
    work.replaceChildren(form);
    key.focus();
  }

  async function applyGap(gap, body, work) {
    try {
      const entry = await post(`/gaps/${encodeURIComponent(gap.id)}/apply${period}`, body);
      work.replaceChildren(h('p', { role: 'status' }, entry.status === 'draft' ? 'Draft created: ' : 'Phrasings added: ',
        h('a', { href: `#/faq/entry/${encodeURIComponent(entry.key)}` }, `open ${entry.key}`), entry.status === 'draft' ? ' to review and publish it.' : '.'));
      announce(`Entry ${entry.key} is at version ${entry.version}.`);
    } catch (error) {
      work.replaceChildren(errorBox(error));
    }
  }

  async function loadProposals() {
    let pending;
    try {
      pending = await get('/gaps/proposals');
    } catch (error) {
      proposals.replaceChildren(errorBox(error));
      return;
    }
    const decide = async (proposal, accept) => {
      try {
        await post(`/gaps/proposals/${proposal.proposal_id}`, { accept });
        announce(accept ? `“${proposal.text}” is now a phrasing of ${proposal.faq_key}.` : 'Proposal rejected.');
        await loadProposals();
      } catch (error) {
        proposals.prepend(errorBox(error));
      }
    };
    proposals.replaceChildren(table(['Customer\'s wording', 'Proposed for', 'From', 'When', 'Decide'], pending.map((proposal) => [
      proposal.text, h('a', { href: `#/faq/entry/${encodeURIComponent(proposal.faq_key)}` }, `${proposal.faq_key}: ${proposal.entry_question}`),
      proposal.source, when(proposal.proposed_at),
      h('span', { class: 'actions' },
        h('button', { type: 'button', 'aria-label': `Accept “${proposal.text}”`, onclick: () => decide(proposal, true) }, 'Accept'),
        h('button', { type: 'button', class: 'quiet', 'aria-label': `Reject “${proposal.text}”`, onclick: () => decide(proposal, false) }, 'Reject')),
    ]), 'Proposed phrasings'));
  }

  append(page, h('h1', null, 'Knowledge gaps'),
    h('p', { class: 'muted' }, 'Questions of the last 30 days the bot could not answer, grouped by meaning, biggest first.'),
    list, h('h2', null, 'Phrasings proposed by agents'), proposals);
  await Promise.all([loadGaps(), loadProposals()]);
}
