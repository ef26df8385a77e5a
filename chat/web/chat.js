// The duplex chat page. Every string that comes from a user (nicknames, room names, messages, close
// reasons) reaches the page through textContent, never as HTML.
//
// What the user writes is never lost: each message goes into an outbox with an id of its own and stays
// there, shown as pending, until the server acknowledges it with its sequence number. The outbox outlives
// the connection (and, through sessionStorage, a reload): after a reconnect every pending message is sent
// again with the same id, and the server answers a repeated id with the original number instead of
// recording it twice. Sends are paced to the limits the server announces, so a burst of Enter presses is
// queued rather than refused. The outbox's rules are in outbox.js, the record's entries are built in dom.js.
import { el, msgEl, noticeEl, setTime } from "./dom.js";
import { Outbox, utf8Len } from "./outbox.js";

const $ = (id) => document.getElementById(id);
const ui = {
  title: $("title"), state: $("state"), me: $("me"),
  panel: document.querySelector(".record-panel"), record: $("record"), outbox: $("outbox"),
  users: $("users"), count: $("count"), presence: $("presence"),
  input: $("input"), send: $("send"), close: $("close"), note: $("composer-note"), counter: $("counter"),
  join: $("join"), joinForm: $("join-form"), nick: $("nick"), room: $("room"), joinError: $("join-error"),
};

// The names of WebSocket.readyState values, as the browser defines them.
const STATES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];
// Close codes after which reconnecting would only be refused again: the server said why, so say it and stop.
const FINAL = new Set([1003, 1008, 1009]);
// The server closes an older connection of a session with this reason when the session resumes on a new
// one (another tab holding the same token). Reconnecting would take it back, and the two would take turns.
const TAKEN_OVER = "session resumed on another connection";
const MAX_BACKOFF = 10000;
const STORE = "duplex.chat";

let ws = null;
let nick = "";
let room = "";
let epoch = "";     // which life of the room the sequence numbers count in
let lastSeq = 0;    // the last recorded event received; a reconnect asks for what came after it
let session = "";   // the token that lets a reconnect resume the membership unannounced
let joined = false;
let everJoined = false;
let resumed = false;   // restored from sessionStorage after a reload: behave as joined before
let userClosed = false;
let takenOver = false; // this session now lives on another connection
let refused = false;   // the server refused this connection's join: wait for the user, do not retry
let retries = 0;
let retryTimer = 0;
let lostNotice = null; // the one notice that tracks a lost connection until it is back

// shown maps the sequence numbers of this epoch to their entries in the record, so that an event is
// shown once however many times it arrives (broadcast, history after a reconnect, an ack).
let shown = new Map();
const users = new Set();

// Each outbox entry's view is its <li>: in #outbox while pending or failed, in #record once settled.
const outbox = new Outbox((e) => sendJSON({ type: "send", id: e.id, text: e.text }), showEntry, persist);
const limits = () => outbox.limits;

// follow runs insert and keeps the newest entry in view, unless the reader scrolled up to read.
function follow(insert, force) {
  const p = ui.panel;
  const atBottom = p.scrollHeight - p.scrollTop - p.clientHeight < 80;
  insert();
  if (atBottom || force) p.scrollTop = p.scrollHeight;
}

function append(li, force) { follow(() => ui.record.append(li), force); }

// place puts a numbered entry in the record by its number. Events nearly always arrive in order; an ack
// may come before the broadcasts numbered below it, which then go in front of it.
function place(li, seq, force) {
  li.dataset.seq = seq;
  shown.set(seq, li);
  let before = null;
  for (let n = ui.record.lastElementChild; n && n.dataset.seq && Number(n.dataset.seq) > seq; n = n.previousElementSibling) {
    before = n;
  }
  follow(() => (before ? ui.record.insertBefore(li, before) : ui.record.append(li)), force);
}

function addNotice(text, iso, problem) {
  const li = noticeEl(text, iso, problem);
  append(li, true);
  return li;
}

// recorded shows a numbered event once. live is false for the history of a welcome, whose joins and
// leaves are already counted in its users list.
function recorded(ev, live) {
  if (!ev.seq) return;
  const had = shown.get(ev.seq);
  if (had) {
    // An ack put this message in place before its broadcast came; the broadcast brings the server's time.
    const t = had.querySelector("time");
    if (t && !t.dateTime) setTime(t, ev.time);
    lastSeq = Math.max(lastSeq, ev.seq);
    return;
  }
  if (ev.seq <= lastSeq) return;
  lastSeq = ev.seq;
  switch (ev.type) {
    case "message": {
      const e = ev.nick === nick ? outbox.claim(ev.text) : null;
      if (e) {
        // Our own message, whose ack has not come yet: the pending entry becomes the record's. (Its view
        // may already stand for a message of the room's earlier life, which keeps it.)
        e.seq = ev.seq;
        const li = e.view.parentNode === ui.outbox ? e.view : msgEl(nick, ev.text, "", true);
        settle(li, ev.time);
        place(li, ev.seq, true);
      } else {
        place(msgEl(ev.nick, ev.text, ev.time, ev.nick === nick), ev.seq, ev.nick === nick);
      }
      break;
    }
    case "joined":
      place(noticeEl(`${ev.nick} joined`, ev.time), ev.seq, true);
      if (live) { users.add(ev.nick); showUsers(); }
      break;
    case "left":
      place(noticeEl(`${ev.nick} left`, ev.time), ev.seq, true);
      if (live) { users.delete(ev.nick); showUsers(); }
      break;
  }
}

// members applies a large room's batched presence change (one event per interval, unnumbered, instead
// of a joined or left notice per person) to the list, and sums it up under the count rather than in
// the record, which it would flood.
function members(ev) {
  const joined = ev.joined || [], left = ev.left || [];
  for (const u of left) users.delete(u);
  for (const u of joined) users.add(u);
  showUsers();
  ui.presence.textContent = [summary(joined, "joined"), summary(left, "left")].filter(Boolean).join(" · ");
}

// summary says who did what: the names when they are few, else how many.
function summary(names, what) {
  if (names.length === 0) return "";
  if (names.length <= 3) return `${names.join(", ")} ${what}`;
  return `${names.length} ${what}`;
}

function showUsers() {
  const list = [...users].sort();
  ui.users.replaceChildren(...list.map((u) => el("li", u === nick ? "me-user" : "", u)));
  ui.count.textContent = list.length;
}

// ---- The outbox.

function persist() {
  if (!nick || !room) return; // nothing to resume yet: keep what another page of this tab may have left
  try {
    sessionStorage.setItem(STORE, JSON.stringify({
      nick, room, session, draft: ui.input.value,
      outbox: outbox.snapshot(),
    }));
  } catch {
    // Storage may be full or refused (a private window): the page works without it, only a reload forgets.
  }
}

// entryEl builds the view of an outbox entry, with the actions a failed one offers.
function entryEl(e) {
  const li = msgEl(nick, e.text, "", true);
  li.dataset.id = e.id;
  li.querySelector(".meta").append(el("span", "status"));
  const actions = el("div", "actions");
  const retry = el("button", "retry", "Retry");
  const edit = el("button", "edit", "Edit");
  const remove = el("button", "remove", "Remove");
  for (const b of [retry, edit, remove]) b.type = "button";
  retry.addEventListener("click", () => {
    if (utf8Len(e.text) > limits().max_message) {
      note(tooLong(e.text));
      return;
    }
    outbox.retry(e);
  });
  edit.addEventListener("click", () => {
    // Back into the box, after whatever is being written there, so that neither text is lost.
    ui.input.value = ui.input.value ? ui.input.value + "\n" + e.text : e.text;
    drop(e);
    inputChanged();
    ui.input.focus();
  });
  remove.addEventListener("click", () => drop(e));
  actions.append(retry, edit, remove);
  li.append(actions);
  return li;
}

function showEntry(e) {
  const li = e.view;
  if (!li || li.parentNode !== ui.outbox) return;
  const failed = e.status === "failed";
  li.className = "msg mine " + (failed ? "failed" : "pending");
  li.querySelector(".status").textContent = failed ? `Not sent: ${e.reason}` : outbox.ready ? "sending…" : "waiting for the connection…";
  li.querySelector(".actions").hidden = !failed;
}

// settle turns an outbox entry into a plain message of the record (its data-id stays, naming the send).
function settle(li, iso) {
  li.className = "msg mine";
  li.querySelector(".status")?.remove();
  li.querySelector(".actions")?.remove();
  if (iso) setTime(li.querySelector("time"), iso);
}

function drop(e) {
  if (e.view && e.view.parentNode === ui.outbox) e.view.remove();
  outbox.remove(e);
}

// show puts an outbox entry's view at the bottom of the record.
function show(e) {
  e.view = entryEl(e);
  follow(() => ui.outbox.append(e.view), true);
  showEntry(e);
}

function acked(ev) {
  const e = outbox.find(ev.id);
  if (!e) return; // a repeated ack, or one for a message removed meanwhile
  outbox.remove(e);
  const pending = e.view.parentNode === ui.outbox;
  if (!ev.seq || shown.has(ev.seq)) {
    // Its broadcast (or the history after a reconnect) is already on screen.
    if (pending) e.view.remove();
    return;
  }
  // The ack came first, or the entry was matched to another message of the same text: show it at its number.
  const li = pending ? e.view : msgEl(nick, e.text, "", true);
  settle(li);
  place(li, ev.seq, true);
}

// ---- The composer.

function tooLong(text) {
  return `This message is ${utf8Len(text)} bytes; the limit is ${limits().max_message}. Shorten it to send it.`;
}

function note(text) { ui.note.textContent = text; }

function canCompose() { return (everJoined || resumed) && !userClosed && !takenOver && !refused; }

function inputChanged() {
  autosize();
  const n = utf8Len(ui.input.value);
  const max = limits().max_message;
  const over = n > max;
  ui.counter.textContent = `${n} / ${max} B`;
  ui.counter.classList.toggle("over", over);
  if (!over && ui.note.textContent) note("");
  persist();
}

function sendText() {
  const text = ui.input.value;
  if (!canCompose() || text.trim() === "") return;
  if (utf8Len(text) > limits().max_message) {
    note(tooLong(text)); // the text stays in the box to be shortened
    return;
  }
  note("");
  show(outbox.add(text));
  ui.input.value = "";
  inputChanged();
  ui.input.focus();
  outbox.pump();
}

function autosize() {
  if (ui.input.value === "") {
    ui.input.style.height = ""; // a wrapped placeholder must not grow the box
    return;
  }
  ui.input.style.height = "auto";
  ui.input.style.height = Math.min(ui.input.scrollHeight + 2, 160) + "px";
}

// ---- The connection.

function showState() {
  const s = ws ? ws.readyState : WebSocket.CLOSED;
  const name = STATES[s];
  if (ui.state.textContent !== name) {
    ui.state.textContent = name;
    ui.state.className = "state state-" + name.toLowerCase();
  }
  // While the page reconnects the user can keep writing: messages wait in the outbox.
  const ready = canCompose();
  ui.input.disabled = !ready;
  ui.send.disabled = !ready;
  const live = ws && s <= WebSocket.OPEN;
  ui.close.textContent = live || !everJoined ? "Close" : "Reconnect";
  ui.close.disabled = !live && !everJoined;
  // Who is online is only known while connected.
  ui.users.classList.toggle("stale", !joined);
}

function sendJSON(obj) {
  if (ws && ws.readyState === WebSocket.OPEN) ws.send(JSON.stringify(obj));
}

function joinMessage() {
  const m = { type: "join", room, nick, since: lastSeq, epoch };
  if (session) m.session = session;
  return m;
}

function connect() {
  clearTimeout(retryTimer);
  retryTimer = 0;
  userClosed = false;
  takenOver = false;
  refused = false;
  joined = false;
  const sock = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
  ws = sock;
  sock.onopen = () => {
    sendJSON(joinMessage());
    showState();
  };
  sock.onmessage = (e) => {
    if (sock !== ws) return;
    let ev;
    try { ev = JSON.parse(e.data); } catch { return; }
    handle(ev);
  };
  sock.onerror = () => showState();
  sock.onclose = (e) => {
    if (sock !== ws) return;
    joined = false;
    outbox.stop();
    closed(e);
    showState();
  };
  showState();
}

function closed(e) {
  const why = e.reason ? `${e.code}: ${e.reason}` : `${e.code}`;
  if (userClosed) {
    addNotice("You closed the connection.", null, false);
    return;
  }
  if (e.code === 1000 && e.reason === TAKEN_OVER) {
    takenOver = true;
    addNotice("Opened in another tab or connection: this one stays disconnected (Reconnect takes it back).", null, true);
    return;
  }
  if (refused) return; // the join form says why; the user decides what next
  if (FINAL.has(e.code) || !(everJoined || resumed)) {
    addNotice(`Disconnected (${why}).`, null, true);
    if (!everJoined) openJoin(`Could not join (${why}).`);
    return;
  }
  const delay = Math.min(MAX_BACKOFF, 500 * 2 ** retries) * (0.75 + Math.random() / 2);
  retries++;
  // One notice per outage, naming what ended the connection first; later attempts only update it.
  const next = `reconnecting in ${Math.ceil(delay / 1000)} s (attempt ${retries})…`;
  if (!lostNotice) {
    lostNotice = el("li", "notice problem");
    lostNotice.dataset.cause = `Connection lost (${why})`;
    append(lostNotice, true);
  }
  lostNotice.textContent = `${lostNotice.dataset.cause}, ${next}`;
  retryTimer = setTimeout(connect, delay);
}

function welcome(ev) {
  const again = everJoined;
  joined = everJoined = true;
  retries = 0;
  nick = ev.nick;
  room = ev.room;
  if (epoch && ev.epoch !== epoch) {
    // The room was created again (a server restart): its numbers start over, and what is on screen
    // belongs to its earlier life.
    lastSeq = 0;
    shown = new Map();
    for (const li of ui.record.querySelectorAll("[data-seq]")) delete li.dataset.seq;
    for (const e of outbox.entries) e.seq = 0;
  }
  epoch = ev.epoch;
  if (ev.session) session = ev.session;
  document.title = `#${room} · duplex chat`;
  ui.title.textContent = `#${room}`;
  ui.me.textContent = `signed in as ${nick}`;
  ui.join.hidden = true;
  if (again) addNotice("Reconnected.", null, false);
  lostNotice = null;
  const history = ev.history || [];
  // The room keeps a bounded record: say so when what was missed no longer fits in it.
  if (lastSeq > 0 && (ev.more || (history.length > 0 && history[0].seq > lastSeq + 1))) {
    addNotice("Some messages from while you were away are no longer available.", null, true);
  } else if (lastSeq === 0 && ev.more) {
    addNotice("Earlier messages are not shown.", null, false);
  }
  for (const h of history) recorded(h, false);
  lastSeq = Math.max(lastSeq, ev.seq || 0);
  users.clear();
  for (const u of ev.users || []) users.add(u);
  // A large room's welcome lists the members as of its last members event, which may not hold the
  // newcomer yet; the next one will.
  users.add(nick);
  ui.presence.textContent = "";
  showUsers();
  // Everything not acknowledged goes again, after whatever the history already settled.
  outbox.start(ev.limits);
  showState();
  inputChanged();
  ui.input.focus();
}

function handle(ev) {
  switch (ev.type) {
    case "welcome":
      welcome(ev);
      break;
    case "message":
    case "joined":
    case "left":
      recorded(ev, true);
      break;
    case "members":
      members(ev);
      break;
    case "ack":
      acked(ev);
      break;
    case "presence": // servers before the joined/left deltas
      users.clear();
      for (const u of ev.users || []) users.add(u);
      showUsers();
      break;
    case "error": {
      const e = ev.id ? outbox.find(ev.id) : null;
      if (e) {
        outbox.refused(e, ev);
      } else if (!joined) {
        // A refused join (a taken nickname, a full room) is not retried by itself.
        refused = true;
        openJoin(ev.text || ev.code);
        showState();
      } else {
        addNotice(ev.text || ev.code, null, true);
      }
      break;
    }
  }
}

function openJoin(message) {
  ui.joinError.textContent = message || "";
  ui.join.hidden = false;
  ui.nick.focus();
}

function validNick(n) {
  const len = [...n].length;
  return len >= 1 && len <= 24 && n.trim() === n && !/[\p{Cc}\p{Cf}]/u.test(n);
}

ui.joinForm.addEventListener("submit", (e) => {
  e.preventDefault();
  const n = ui.nick.value.trim();
  const r = (ui.room.value.trim() || "lobby").toLowerCase();
  if (!validNick(n)) {
    ui.joinError.textContent = "Nicknames are 1 to 24 characters, without control characters.";
    return;
  }
  if (!/^[a-z0-9._-]{1,32}$/.test(r)) {
    ui.joinError.textContent = "Room names are 1 to 32 of a-z, 0-9, '.', '_' and '-'.";
    return;
  }
  ui.joinError.textContent = "";
  if (r !== room) {
    lastSeq = 0;
    epoch = "";
    shown = new Map();
    ui.record.replaceChildren();
    // Messages written for another room are not posted here; they stay, to be edited or removed.
    outbox.failAll(room ? `written in #${room}` : "not sent");
  }
  if (n !== nick || r !== room) session = ""; // a session resumes one nickname in one room
  nick = n;
  room = r;
  refused = false;
  persist();
  if (ws && ws.readyState === WebSocket.OPEN && !joined) {
    sendJSON(joinMessage());
  } else {
    connect();
  }
});

ui.input.addEventListener("keydown", (e) => {
  if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
    e.preventDefault();
    sendText();
  }
});
// Some input methods deliver Enter's character apart from its keydown: keep it out of the box as well.
ui.input.addEventListener("keypress", (e) => {
  if (e.key === "Enter" && !e.shiftKey) e.preventDefault();
});
ui.input.addEventListener("input", inputChanged);
ui.send.addEventListener("click", sendText);

ui.close.addEventListener("click", () => {
  if (ws && ws.readyState <= WebSocket.OPEN) {
    userClosed = true;
    clearTimeout(retryTimer);
    retryTimer = 0;
    ws.close(1000, "closed by the user");
    showState();
  } else if (everJoined) {
    connect(); // also cuts a backoff wait short
  }
});

// Leaving the page closes the socket with a proper close frame rather than a dropped connection.
window.addEventListener("pagehide", () => {
  persist();
  if (ws && ws.readyState <= WebSocket.OPEN) {
    userClosed = true;
    ws.close(1000, "page closed");
  }
});

// readyState changes without an event when a close starts; polling keeps the shown state exact.
setInterval(showState, 200);

// A reload in the same tab resumes: the nickname, room, session, draft and outbox come back from
// sessionStorage, and the join asks for the room's whole kept history to fill the new page.
let saved = null;
try { saved = JSON.parse(sessionStorage.getItem(STORE) || "null"); } catch { saved = null; }
ui.room.value = new URLSearchParams(location.search).get("room") || "";
if (saved && typeof saved === "object" && typeof saved.nick === "string" && typeof saved.room === "string" && saved.nick && saved.room) {
  nick = saved.nick;
  room = saved.room;
  session = typeof saved.session === "string" ? saved.session : "";
  ui.nick.value = nick;
  ui.room.value = room;
  ui.input.value = typeof saved.draft === "string" ? saved.draft : "";
  for (const e of outbox.restore(saved.outbox)) show(e);
  inputChanged();
  ui.join.hidden = true;
  ui.title.textContent = `#${room}`;
  resumed = true;
  connect();
} else {
  inputChanged();
  openJoin("");
}
showState();
