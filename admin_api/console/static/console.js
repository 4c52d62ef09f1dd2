// The console's shell: sign-in, the sections each role may use, and the #/address router.
import { session, signIn, signOut, whenSignedOut, whoami } from './api.js';
import { h, field, errorBox, alertBox, clearNotice } from './ui.js';
import { faqList, faqEntry, faqNew } from './faq.js';
import { translationsTodo } from './translations.js';
import { transferPage } from './transfer.js';
import { tryPage } from './tryit.js';
import { gapsPage } from './gaps.js';
import { ticketList, ticketPage } from './tickets.js';
import { analyticsPage } from './analytics.js';
import { settingsPage } from './settings.js';
import { teamsPage } from './teams.js';

const EDITOR = ['admin', 'editor'];
const AGENT = ['admin', 'agent'];
const ANY = ['admin', 'editor', 'agent'];
const ADMIN = ['admin'];

// [path pattern, section name in the menu (null: not in it), roles, page]
const ROUTES = [
  [/^faq$/, 'FAQ', ANY, faqList],
  [/^faq\/new$/, null, EDITOR, faqNew],
  [/^faq\/translations$/, null, ANY, translationsTodo],
  [/^faq\/entry\/([^/]+)$/, null, ANY, faqEntry],
  [/^import$/, 'Import & export', EDITOR, transferPage],
  [/^try$/, 'Try it', ANY, tryPage],
  [/^gaps$/, 'Gaps', EDITOR, gapsPage],
  [/^tickets$/, 'Tickets', AGENT, ticketList],
  [/^tickets\/(\d+)$/, null, AGENT, ticketPage],
  [/^analytics$/, 'Analytics', ADMIN, analyticsPage],
  [/^teams$/, 'Teams', ADMIN, teamsPage],
  [/^settings$/, 'Settings', ADMIN, settingsPage],
];
const MENU = { FAQ: 'faq', 'Import & export': 'import', 'Try it': 'try', Gaps: 'gaps', Tickets: 'tickets', Analytics: 'analytics', Teams: 'teams', Settings: 'settings' };
const CHECK_EVERY_MS = 60_000;

const main = () => document.getElementById('main');

function home() {
  return session.caller.role === 'agent' ? 'tickets' : 'faq';
}

function signInPage(reason) {
  document.getElementById('top').hidden = true;
  const token = h('input', { type: 'password', name: 'token', autocomplete: 'off', required: true, spellcheck: 'false' });
  const problem = h('div');
  const button = h('button', { type: 'submit' }, 'Sign in');
  const form = h(
    'form',
    { class: 'card signin', 'aria-labelledby': 'signin-title' },
    h('h1', { id: 'signin-title' }, 'Sign in to Firstline'),
    reason ? alertBox('info', reason) : null,
    field('API token', token, 'From `firstline token create` or your admin. Kept in this browser tab only, until you sign out or close it.'),
    problem,
    h('div', { class: 'actions' }, button),
  );
  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    button.disabled = true;
    problem.replaceChildren();
    try {
      await signIn(token.value.trim());
      if (!location.hash || location.hash === '#/') location.hash = `#/${home()}`;
      await render();
    } catch (error) {
      problem.replaceChildren(errorBox(error.status === 401 ? { message: 'This token is unknown or revoked.' } : error));
      token.select();
    } finally {
      button.disabled = false;
    }
  });
  clearNotice();
  main().replaceChildren(form);
  token.focus();
}

function shell(path) {
  const top = document.getElementById('top');
  top.hidden = false;
  const role = session.caller.role;
  const nav = document.getElementById('nav');
  nav.replaceChildren(
    ...ROUTES.filter(([, name, roles]) => name && roles.includes(role)).map(([, name]) => {
      const target = MENU[name];
      const current = path === target || path.startsWith(`${target}/`);
      return h('a', { href: `#/${target}`, 'aria-current': current ? 'page' : null }, name);
    }),
  );
  document.getElementById('who').textContent = `${session.caller.name} · ${role}`;
}

async function render() {
  if (!session.token) {
    signInPage();
    return;
  }
  if (!session.caller) {
    try {
      session.caller = await whoami(session.token);
    } catch (error) {
      if (error.status === 401) signOut('Your token is no longer valid (revoked or unknown): sign in again.');
      else main().replaceChildren(errorBox(error));
      return;
    }
  }
  const path = decodeURIComponent(location.hash.replace(/^#\/?/, '')) || home();
  shell(path);
  const route = ROUTES.find(([pattern]) => pattern.test(path));
  const page = h('div');
  main().replaceChildren(page);
  if (!route || !route[2].includes(session.caller.role)) {
    page.append(h('h1', { tabindex: '-1' }, 'Not here'), alertBox('info', `Your role (${session.caller.role}) has no page at #/${path}.`));
    return;
  }
  const [pattern, , , show] = route;
  try {
    await show(page, ...path.match(pattern).slice(1));
  } catch (error) {
    if (error.status !== 401) page.append(errorBox(error));
  }
  const heading = page.querySelector('h1');
  if (heading && !document.activeElement?.closest('main')) {
    heading.setAttribute('tabindex', '-1');
    heading.focus();
  }
}

// A revoked token signs the tab out at the next look, even on a page left open.
async function check() {
  if (!session.token) return;
  try {
    session.caller = await whoami(session.token);
  } catch (error) {
    if (error.status === 401) signOut('Your token is no longer valid (revoked or unknown): sign in again.');
  }
}

whenSignedOut((reason) => signInPage(reason));
document.getElementById('sign-out').addEventListener('click', () => signOut('Signed out.'));
// The page and the token's check go at once: a revoked token's 401 signs out whichever answers first.
window.addEventListener('hashchange', () => { clearNotice(); render(); check(); });
setInterval(check, CHECK_EVERY_MS);
render();
