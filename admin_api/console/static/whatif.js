// "What changes if I publish this?": the customers' recent questions (and one of the editor's
// own) decided on the live FAQ and on the FAQ with the edit as it stands in the form. Nothing
// is saved (POST /faq/{key}/what-if).
import { post } from './api.js';
import { h, field, table, errorBox, badge } from './ui.js';

const OUTCOME = { answer: 'answers', clarify: 'asks "did you mean…?"', handoff: 'hands off' };

function told(decision) {
  if (!decision) return '—';
  const outcome = OUTCOME[decision.decision] ?? decision.decision;
  const key = decision.faq_key || decision.candidates?.[0]?.faq_key;
  return decision.decision === 'handoff' || !key ? outcome : `${outcome}: ${key}`;
}

function tallies(body) {
  const row = (label, tally) => [label, String(tally.answered), String(tally.answered_with_entry), String(tally.clarified), String(tally.handed_off)];
  return table(['', 'Answered', 'With this entry', '"Did you mean…?"', 'Handed off'],
    [row('Now', body.before), row('If published', body.after)], 'Before and after');
}

export function whatIfSection(key, contentFrom) {
  const question = h('input', { type: 'text', name: 'what-if-text' });
  const result = h('div', { id: 'what-if', 'aria-live': 'polite' });
  const ask = h('button', { type: 'button', class: 'quiet' }, 'What changes if I publish this?');
  ask.addEventListener('click', async () => {
    result.replaceChildren(h('p', { class: 'muted' }, 'Deciding the recent questions twice…'));
    try {
      const body = await post(`/faq/${encodeURIComponent(key)}/what-if`, {
        entry: contentFrom(), text: question.value.trim() || null,
      });
      const asked = body.text_before ? h('p', { id: 'what-if-asked' },
        h('strong', null, 'Your question: '), `now the bot ${told(body.text_before)}; published, it ${told(body.text_after)}.`) : null;
      result.replaceChildren(h('section', { class: 'card', 'aria-labelledby': 'what-if-title' },
        h('h3', { id: 'what-if-title' }, `What changes: ${body.changed} of ${body.replayed} recent questions `,
          badge(body.changed ? 'changes' : 'no change', body.changed ? 'warn' : 'good')),
        asked,
        h('p', { class: 'muted' }, `The customers' newest distinct questions since ${new Date(body.since).toLocaleDateString()}, decided now and with this edit; nothing is saved.`),
        tallies(body),
        body.changes.length ? table(['Question', 'Now', 'If published'],
          body.changes.map((change) => [change.text, told(change.before), told(change.after)]), 'Questions decided otherwise') : null));
    } catch (error) {
      result.replaceChildren(errorBox(error));
    }
  });
  const panel = h('div', { class: 'card' },
    field('A question to try (optional)', question, 'Decided before and after, beside the customers\' recent questions.'),
    h('div', { class: 'actions' }, ask), result);
  return panel;
}
