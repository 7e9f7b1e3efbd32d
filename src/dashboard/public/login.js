import t from './i18n/de.js';
import { applyWords } from './words.js';

applyWords(document, t);
document.title = t.login.title;
const params = new URLSearchParams(location.search);
const message = document.getElementById('message');
const error = params.get('fehler');
if (error && t.login.errors[error]) {
  message.textContent = t.login.errors[error];
  message.classList.add('error');
  message.hidden = false;
} else if (params.has('abgemeldet')) {
  message.textContent = t.login.loggedOut;
  message.hidden = false;
}
