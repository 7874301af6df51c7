// The playground page: renders the bot's events (SSE) as a chat thread and sends messages (with an attached or
// dropped image, to animate from) and button presses.
// Plain browser JavaScript, no build step, nothing loaded from the network.
'use strict';

const sessionId = (() => {
  let id = sessionStorage.getItem('animate-session');
  if (!id) {
    id = Array.from(crypto.getRandomValues(new Uint8Array(12)), (b) => b.toString(16).padStart(2, '0')).join('');
    sessionStorage.setItem('animate-session', id);
  }
  return id;
})();

const log = document.getElementById('log');
const input = document.getElementById('input');
const composer = document.getElementById('composer');
const connection = document.getElementById('connection');
const replying = document.getElementById('replying');
const replyingTo = document.getElementById('replying-to');
const threads = new Map(); // thread id → { el, prompt }
const bubbles = new Map(); // bubble id → { el, jobId, thread, prompt }
let replyThread = null;

function el(tag, className, text) {
  const node = document.createElement(tag);
  if (className) node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function nearBottom() {
  return log.scrollHeight - log.scrollTop - log.clientHeight < 120;
}
// Follow new messages while the reader is at the bottom; stop when they scroll up to read.
let stick = true;
log.addEventListener('scroll', () => {
  stick = nearBottom();
});
function keepScrolled(wasNear) {
  if (wasNear || stick) log.scrollTop = log.scrollHeight;
}
// Images and videos grow after they load: keep following.
log.addEventListener('load', () => keepScrolled(false), true);
log.addEventListener('loadedmetadata', () => keepScrolled(false), true);

function message(kind, who, tag) {
  const msg = el('div', `msg ${kind}`);
  msg.append(el('div', 'avatar', kind === 'user' ? 'you' : '▶'));
  const body = el('div', 'body');
  const name = el('div', 'name', who);
  if (tag) name.append(el('small', '', tag));
  body.append(name);
  msg.append(body);
  return { msg, body };
}

function threadEl(id) {
  let t = threads.get(id);
  if (!t) {
    const node = el('section', 'thread');
    node.dataset.thread = id;
    log.append(node);
    t = { el: node, prompt: '' };
    threads.set(id, t);
  }
  return t;
}

function selectReply(thread) {
  replyThread = thread;
  for (const [id, t] of threads) t.el.classList.toggle('selected', id === thread);
  replying.hidden = !thread;
  if (thread) {
    replyingTo.textContent = threads.get(thread)?.prompt || thread;
    input.placeholder = 'Refine: "make it blue", "slower", "now at night", "add a star"…';
    input.focus();
  } else input.placeholder = '/animate a pink heart grows in the sky --steps 20 --variants 2';
}

function fmtSeconds(s) {
  if (!isFinite(s) || s <= 0) return '';
  return s < 1 ? '<1 s' : `${Math.round(s)} s`;
}

function bubbleFor(ev) {
  let b = bubbles.get(ev.bubble);
  if (b) return b;
  const thread = threadEl(ev.thread);
  const { msg, body } = message('bot', 'animate', ev.label || (ev.variant?.count > 1 ? `Variant ${ev.variant.index} of ${ev.variant.count}` : 'bot'));
  msg.classList.add('bubble');
  msg.dataset.bubble = ev.bubble;
  const prompt = el('div', 'text prompt');
  const derived = el('div', 'derived');
  const status = el('div', 'status', 'Accepted…');
  const progress = el('div', 'progress');
  progress.append(el('div', 'bar'));
  const media = el('div', 'media');
  const info = el('div', 'info');
  const actions = el('div', 'actions');
  body.append(prompt, derived, status, progress, media, info, actions);
  thread.el.append(msg);
  b = { el: msg, prompt, derived, status, bar: progress.firstChild, media, info, actions, jobId: null, thread: ev.thread, text: '' };
  bubbles.set(ev.bubble, b);
  return b;
}

function button(b, action, label) {
  const btn = el('button', '', label);
  btn.type = 'button';
  btn.dataset.action = action;
  btn.addEventListener('click', () => onButton(b, action, btn));
  b.actions.append(btn);
  return btn;
}

async function post(path, body) {
  const res = await fetch(path, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ session: sessionId, ...body }) });
  const data = await res.json().catch(() => ({ ok: false, error: `HTTP ${res.status}` }));
  if (!res.ok || data.ok === false) showNotice(data.error || `HTTP ${res.status}`, 'error');
  return data;
}

function onButton(b, action, btn) {
  if (action === 'reply') return selectReply(b.thread);
  if (action === 'refine') {
    if (b.el.querySelector('.refine-form')) return;
    const form = el('form', 'refine-form');
    const field = el('input');
    field.value = b.text;
    field.setAttribute('aria-label', 'refined prompt');
    const ok = el('button', '', 'Animate');
    ok.type = 'submit';
    form.append(field, ok);
    form.addEventListener('submit', (e) => {
      e.preventDefault();
      if (!field.value.trim()) return;
      form.remove();
      void post('/api/action', { jobId: b.jobId, action: 'refine', prompt: field.value });
    });
    b.actions.after(form);
    field.focus();
    return;
  }
  btn.disabled = true;
  void post('/api/action', { jobId: b.jobId, action }).finally(() => {
    if (action !== 'cancel') btn.disabled = false;
  });
}

// Flags ("--negative", "--seed 42") never break across lines: each is a nowrap span (style.css .flag), so the help's
// columns stay readable on a narrow page and a flag copied from it is the flag.
function withFlags(text) {
  const node = el('div', 'text');
  for (const part of text.split(/(--[A-Za-z][A-Za-z0-9-]*)/)) {
    if (!part) continue;
    node.append(/^--[A-Za-z]/.test(part) ? el('span', 'flag', part) : document.createTextNode(part));
  }
  return node;
}

function showNotice(text, level, thread) {
  const wasNear = nearBottom();
  const { msg, body } = message('bot', 'animate', level === 'error' ? 'error' : 'help');
  msg.classList.add('notice', level);
  body.append(withFlags(text));
  (thread ? threadEl(thread).el : log).append(msg);
  keepScrolled(wasNear);
}

const handlers = {
  user(ev) {
    const t = threadEl(ev.thread);
    if (!t.prompt) t.prompt = ev.text.replace(/^\/animate\s*/i, '');
    const { msg, body } = message('user', 'you');
    body.append(el('div', 'text', ev.text));
    if (ev.image) body.append(el('div', 'attached', `🖼 ${ev.image}`));
    t.el.append(msg);
  },
  notice(ev) {
    showNotice(ev.text, ev.level, ev.thread);
  },
  accepted(ev) {
    const b = bubbleFor(ev);
    b.jobId = ev.jobId;
    b.el.dataset.job = ev.jobId;
    b.text = ev.prompt;
    b.prompt.textContent = ev.prompt;
    if (ev.derivedFrom?.kind === 'refinement') b.derived.textContent = `Refined from “${ev.derivedFrom.previousPrompt ?? ''}” with “${ev.derivedFrom.text}”. Prompt used: “${ev.prompt}”.`;
    if (ev.derivedFrom?.kind === 'question') b.derived.textContent = `Question “${ev.derivedFrom.text}” → prompt “${ev.prompt}”.`;
    button(b, 'cancel', 'Cancel');
  },
  queued(ev) {
    const b = bubbles.get(ev.bubble);
    if (!b) return;
    const eta = fmtSeconds(ev.etaSeconds);
    const starts = eta ? ` · starts in ≈ ${eta}` : '';
    // ev.place is bots/core/format.ts queuePlace: "starting" has nothing ahead (position 1, no wait).
    b.status.textContent =
      ev.place === 'starting' ? 'Starting…' : ev.place === 'next' ? `Next in queue${starts}` : ev.place === 'waiting' ? `In queue: position ${ev.position}${starts}` : `Waiting in queue${starts}`;
    b.el.dataset.state = 'queued';
  },
  progress(ev) {
    const b = bubbles.get(ev.bubble);
    if (!b) return;
    const eta = fmtSeconds(ev.etaSeconds);
    const stage = ev.stage === 'denoise' ? 'Denoising' : ev.stage === 'decode' ? 'Decoding' : ev.stage === 'encode' ? 'Encoding' : ev.stage;
    b.status.textContent = `${stage} · step ${ev.step}/${ev.total}${eta ? ` · ≈ ${eta} left` : ''}`;
    b.bar.style.width = `${Math.round((100 * ev.step) / Math.max(1, ev.total))}%`;
    b.el.dataset.state = 'running';
  },
  preview(ev) {
    const b = bubbles.get(ev.bubble);
    if (!b || b.el.classList.contains('done')) return;
    let img = b.media.querySelector('img.preview');
    if (!img) {
      img = el('img', 'preview');
      img.alt = 'preview';
      b.media.append(img);
    }
    img.src = ev.url;
    img.title = `preview at step ${ev.step}/${ev.total}`;
  },
  clip(ev) {
    const b = bubbles.get(ev.bubble);
    if (!b) return;
    const wasNear = nearBottom();
    b.el.classList.add('done');
    b.el.dataset.state = 'done';
    b.media.textContent = '';
    const video = el('video', 'clip');
    Object.assign(video, { autoplay: true, loop: true, muted: true, playsInline: true, controls: false });
    video.setAttribute('playsinline', '');
    video.setAttribute('muted', '');
    video.src = ev.url;
    b.media.append(video);
    const i = ev.info;
    const secs = (i.timings?.totalMs ?? 0) / 1000;
    b.status.textContent = `Done${secs ? ` in ${secs.toFixed(1)} s` : ''}`;
    b.info.textContent = `seed ${i.seed} · ${i.steps} steps · guidance ${Number(i.guidance).toFixed(1)} · ${i.width}×${i.height} · ${i.frames} frames @ ${i.fps} fps · ${i.model}` + (i.style ? ` · style ${i.style.name}${i.style.strength === 1 ? '' : ` at ${i.style.strength}`}` : '') + (i.unknownWords?.length ? ` · unknown words: ${i.unknownWords.join(', ')}` : '');
    const link = el('a', 'download', 'download');
    link.href = ev.url;
    link.download = i.fileName || 'clip.mp4';
    b.info.append(' · ', link);
    b.actions.textContent = '';
    button(b, 'reroll', 'Reroll');
    button(b, 'variations', 'Variations');
    button(b, 'refine', 'Refine');
    // Extend continues from the clip's last frame: offered only when the daemon sent one.
    if (i.extendable) button(b, 'extend', 'Extend');
    button(b, 'reply', 'Reply in thread');
    keepScrolled(wasNear);
    cueIfHidden(b.el);
  },
  fail(ev) {
    const b = bubbleFor(ev);
    b.el.classList.add('failed');
    b.el.dataset.state = 'failed';
    b.status.textContent = '';
    b.status.append(el('span', 'error', ev.message));
    b.actions.textContent = '';
    if (b.jobId) button(b, 'reroll', 'Try again');
  },
  cancelled(ev) {
    const b = bubbles.get(ev.bubble);
    if (!b) return;
    b.el.classList.add('cancelled');
    b.el.dataset.state = 'cancelled';
    b.status.textContent = `Cancelled by ${ev.by}.`;
    b.actions.textContent = '';
    button(b, 'reroll', 'Reroll');
  },
};

// A clip that lands out of view (an older thread above, or below while the reader is scrolled up) gets a chip over
// the log saying where it is; a click scrolls to it, and it goes once the clip is in view.
const newClip = document.getElementById('new-clip');
let cued = null;
function where(node) {
  const box = log.getBoundingClientRect();
  const r = node.getBoundingClientRect();
  if (r.bottom <= box.top + 8) return 'above';
  if (r.top >= box.bottom - 8) return 'below';
  return 'visible';
}
function cueIfHidden(node) {
  const side = where(node);
  if (side === 'visible') return;
  cued = node;
  newClip.textContent = side === 'above' ? 'New clip above ↑' : 'New clip below ↓';
  newClip.dataset.side = side;
  newClip.hidden = false;
}
function clearCue() {
  cued = null;
  newClip.hidden = true;
}
newClip.addEventListener('click', () => {
  const target = cued;
  clearCue();
  if (!target) return;
  target.scrollIntoView({ block: 'center' });
  stick = nearBottom();
});
log.addEventListener('scroll', () => {
  if (cued && where(cued) === 'visible') clearCue();
});

function connect() {
  const source = new EventSource(`/events?session=${encodeURIComponent(sessionId)}`);
  source.addEventListener('open', () => {
    connection.textContent = '● live';
    connection.classList.add('live');
  });
  source.addEventListener('error', () => {
    connection.textContent = 'reconnecting…';
    connection.classList.remove('live');
  });
  source.addEventListener('page', (e) => {
    const ev = JSON.parse(e.data);
    const wasNear = nearBottom();
    handlers[ev.type]?.(ev);
    keepScrolled(wasNear);
  });
}

// The image attached to the next message: chosen with 📎 or dropped anywhere on the page. Sent as base64 inside the
// JSON body (the server takes JSON writes only); the server checks it again (size, type) and says what is wrong.
const MAX_IMAGE_BYTES = 10 * 1024 * 1024;
const IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'image/gif'];
const attachment = document.getElementById('attachment');
const attachmentName = document.getElementById('attachment-name');
const fileInput = document.getElementById('image-file');
let attached = null; // File

function attach(file) {
  if (!file) return;
  if (!IMAGE_TYPES.includes(file.type)) return showNotice(`"${file.name}" is not a PNG, JPEG, WebP or GIF image.`, 'error');
  if (file.size > MAX_IMAGE_BYTES) return showNotice(`"${file.name}" is ${(file.size / 1048576).toFixed(1)} MB; at most 10 MB can be animated.`, 'error');
  attached = file;
  attachmentName.textContent = file.name;
  attachment.hidden = false;
  input.placeholder = 'what should happen, e.g. the ball bounces --steps 20';
  input.focus();
}
function detach() {
  attached = null;
  attachment.hidden = true;
  fileInput.value = '';
}
fileInput.addEventListener('change', () => attach(fileInput.files?.[0]));
document.getElementById('drop-image').addEventListener('click', detach);
let dragDepth = 0;
document.addEventListener('dragenter', (e) => {
  if (![...(e.dataTransfer?.types ?? [])].includes('Files')) return;
  dragDepth++;
  document.body.classList.add('dragging');
});
document.addEventListener('dragleave', () => {
  if (--dragDepth <= 0) document.body.classList.remove('dragging');
});
document.addEventListener('dragover', (e) => e.preventDefault());
document.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  document.body.classList.remove('dragging');
  attach(e.dataTransfer?.files?.[0]);
});

function base64Of(file) {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result).replace(/^data:[^,]*,/, ''));
    reader.onerror = () => reject(reader.error);
    reader.readAsDataURL(file);
  });
}

composer.addEventListener('submit', async (e) => {
  e.preventDefault();
  const text = input.value.trim();
  if (!text) return;
  input.value = '';
  stick = true;
  if (attached) {
    const file = attached;
    detach();
    selectReply(null);
    void post('/api/message', { text, image: { data: await base64Of(file), name: file.name } });
    return;
  }
  const isCommand = /^\/(animate|help)\b/i.test(text);
  if (isCommand) selectReply(null);
  void post('/api/message', isCommand || !replyThread ? { text } : { text, thread: replyThread });
});
document.getElementById('stop-reply').addEventListener('click', () => selectReply(null));

connect();
input.focus();
