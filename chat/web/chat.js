// The duplex chat page. Every string that comes from a user (nicknames, room names, messages, close
// reasons) reaches the page through textContent, never as HTML.
//
// What the user writes is never lost: each message goes into an outbox with an id of its own and stays
// there, shown as pending, until the server acknowledges it with its sequence number. The outbox outlives
// the connection (and, through sessionStorage, a reload): after a reconnect every pending message is sent
// again with the same id, and the server answers a repeated id with the original number instead of
// recording it twice. Sends are paced to the limits the server announces, so a burst of Enter presses is
// queued rather than refused.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const ui = {
    title: $("title"), state: $("state"), me: $("me"),
    panel: document.querySelector(".record-panel"), record: $("record"), outbox: $("outbox"),
    users: $("users"), count: $("count"),
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
  // Used until a welcome says otherwise: the server's defaults.
  const DEFAULT_LIMITS = { max_message: 4096, rate: 5, burst: 10, max_room: 0 };
  // Sends are paced a little under the server's rate, so that network jitter cannot bunch two of them into
  // one of its intervals; a refusal all the same is waited out (retry_ms) and the message sent again.
  const PACE = 0.9;
  // The protocol allows ids of 1 to 64 of [A-Za-z0-9_-]; 64 symbols make one per 6 random bits.
  const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";
  const STORE = "duplex.chat";
  const encoder = new TextEncoder();

  let ws = null;
  let nick = "";
  let room = "";
  let epoch = "";     // which life of the room the sequence numbers count in
  let lastSeq = 0;    // the last recorded event received; a reconnect asks for what came after it
  let session = "";   // the token that lets a reconnect resume the membership unannounced
  let limits = { ...DEFAULT_LIMITS };
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

  // The outbox, oldest first. status: "queued" (to be sent on this connection), "sent" (sent, no ack yet)
  // or "failed" (refused by the server, or by the page, with reason). seq is the record entry the message
  // was matched to before its ack came, if any.
  let outbox = [];
  // Pacing: a token bucket mirroring the server's, refilled at PACE x rate up to burst.
  let tokens = 0;
  let tokensAt = 0;
  let pausedUntil = 0; // a rate_limited refusal's retry_ms
  let pumpTimer = 0;

  function el(tag, cls, text) {
    const e = document.createElement(tag);
    if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text;
    return e;
  }

  function colorOf(name) {
    let h = 0;
    for (const ch of name) h = (h * 31 + ch.codePointAt(0)) % 360;
    return `hsl(${h}, 55%, 42%)`;
  }

  function setTime(t, iso) {
    const d = new Date(iso);
    if (!iso || isNaN(d)) return;
    t.dateTime = d.toISOString();
    t.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
    t.title = d.toLocaleString();
  }

  function timeEl(iso) {
    const t = el("time", "time");
    setTime(t, iso);
    return t;
  }

  function utf8Len(s) { return encoder.encode(s).length; }

  function newId() {
    const b = new Uint8Array(16);
    crypto.getRandomValues(b);
    return Array.from(b, (x) => ID_CHARS[x & 63]).join("");
  }

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

  function msgEl(from, text, iso) {
    const li = el("li", from === nick ? "msg mine" : "msg");
    const avatar = el("span", "avatar", [...from][0] || "?");
    avatar.style.background = colorOf(from);
    const meta = el("div", "meta");
    const who = el("span", "nick", from);
    who.style.color = colorOf(from);
    meta.append(who, timeEl(iso));
    li.append(avatar, meta, el("div", "text", text));
    return li;
  }

  function addNotice(text, iso, problem) {
    const li = el("li", problem ? "notice problem" : "notice", text);
    if (iso) li.append(timeEl(iso));
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
        const e = ev.nick === nick ? claim(ev.text) : null;
        if (e) {
          // Our own message, whose ack has not come yet: the pending entry becomes the record's.
          e.seq = ev.seq;
          settle(e.li, ev.time);
          place(e.li, ev.seq, true);
        } else {
          place(msgEl(ev.nick, ev.text, ev.time), ev.seq, ev.nick === nick);
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

  function noticeEl(text, iso) {
    const li = el("li", "notice", text);
    li.append(timeEl(iso));
    return li;
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
        outbox: outbox.map((e) => ({ id: e.id, text: e.text, sent: e.status === "sent", failed: e.status === "failed" ? e.reason : undefined })),
      }));
    } catch {
      // Storage may be full or refused (a private window): the page works without it, only a reload forgets.
    }
  }

  // claim finds the oldest sent message with this text that no record entry stands for yet. The server
  // handles one connection's sends in order, so our broadcasts come in the order we sent them.
  function claim(text) {
    return outbox.find((e) => e.status === "sent" && !e.seq && e.text === text) || null;
  }

  function entryEl(e) {
    const li = msgEl(nick, e.text);
    li.dataset.id = e.id;
    li.querySelector(".meta").append(el("span", "status"));
    const actions = el("div", "actions");
    const retry = el("button", "retry", "Retry");
    const edit = el("button", "edit", "Edit");
    const remove = el("button", "remove", "Remove");
    for (const b of [retry, edit, remove]) b.type = "button";
    retry.addEventListener("click", () => {
      if (utf8Len(e.text) > limits.max_message) {
        note(tooLong(e.text));
        return;
      }
      e.status = "queued";
      showEntry(e);
      persist();
      pump();
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
    if (!e.li || e.li.parentNode !== ui.outbox) return;
    const failed = e.status === "failed";
    e.li.className = "msg mine " + (failed ? "failed" : "pending");
    const connected = joined && ws && ws.readyState === WebSocket.OPEN;
    e.li.querySelector(".status").textContent = failed ? `Not sent: ${e.reason}` : connected ? "sending…" : "waiting for the connection…";
    e.li.querySelector(".actions").hidden = !failed;
  }

  // settle turns an outbox entry into a plain message of the record (its data-id stays, naming the send).
  function settle(li, iso) {
    li.className = "msg mine";
    li.querySelector(".status")?.remove();
    li.querySelector(".actions")?.remove();
    if (iso) setTime(li.querySelector("time"), iso);
  }

  function drop(e) {
    outbox = outbox.filter((x) => x !== e);
    if (e.li && e.li.parentNode === ui.outbox) e.li.remove();
    persist();
  }

  function enqueue(text, id, status, reason) {
    const e = { id: id || newId(), text, status: status || "queued", reason: reason || "", seq: 0, li: null };
    e.li = entryEl(e);
    follow(() => ui.outbox.append(e.li), true);
    outbox.push(e);
    showEntry(e);
    return e;
  }

  function acked(ev) {
    const e = outbox.find((x) => x.id === ev.id);
    if (!e) return; // a repeated ack, or one for a message removed meanwhile
    outbox = outbox.filter((x) => x !== e);
    persist();
    const pending = e.li.parentNode === ui.outbox;
    if (!ev.seq || shown.has(ev.seq)) {
      // Its broadcast (or the history after a reconnect) is already on screen.
      if (pending) e.li.remove();
      return;
    }
    // The ack came first, or the entry was matched to another message of the same text: show it at its number.
    const li = pending ? e.li : msgEl(nick, e.text);
    settle(li);
    place(li, ev.seq, true);
  }

  function refusedSend(e, ev) {
    switch (ev.code) {
      case "rate_limited":
        // Sent before the server's bucket refilled: wait as long as it says, then send it again.
        e.status = "queued";
        tokens = 0;
        pausedUntil = performance.now() + (ev.retry_ms > 0 ? ev.retry_ms : 1000);
        pump();
        break;
      case "not_joined":
        e.status = "queued"; // the next welcome sends it
        break;
      default:
        e.status = "failed";
        e.reason = ev.text || ev.code;
    }
    showEntry(e);
    persist();
  }

  // pump sends queued messages, in order, as fast as the server's limits allow, and comes back for the rest.
  function pump() {
    clearTimeout(pumpTimer);
    pumpTimer = 0;
    if (!joined || !ws || ws.readyState !== WebSocket.OPEN) return;
    const now = performance.now();
    if (now < pausedUntil) {
      pumpTimer = setTimeout(pump, pausedUntil - now);
      return;
    }
    const rate = limits.rate > 0 ? limits.rate * PACE : 0;
    if (rate) {
      tokens = Math.min(Math.max(1, limits.burst), tokens + ((now - tokensAt) / 1000) * rate);
    }
    tokensAt = now;
    let sent = false;
    for (const e of outbox) {
      if (e.status !== "queued") continue;
      if (rate && tokens < 1) {
        pumpTimer = setTimeout(pump, Math.max(10, ((1 - tokens) / rate) * 1000));
        break;
      }
      tokens -= 1;
      e.status = "sent";
      sendJSON({ type: "send", id: e.id, text: e.text });
      showEntry(e);
      sent = true;
    }
    if (sent) persist();
  }

  // ---- The composer.

  function tooLong(text) {
    return `This message is ${utf8Len(text)} bytes; the limit is ${limits.max_message}. Shorten it to send it.`;
  }

  function note(text) { ui.note.textContent = text; }

  function canCompose() { return (everJoined || resumed) && !userClosed && !takenOver && !refused; }

  function inputChanged() {
    autosize();
    const n = utf8Len(ui.input.value);
    const over = n > limits.max_message;
    ui.counter.textContent = `${n} / ${limits.max_message} B`;
    ui.counter.classList.toggle("over", over);
    if (!over && ui.note.textContent) note("");
    persist();
  }

  function sendText() {
    const text = ui.input.value;
    if (!canCompose() || text.trim() === "") return;
    if (utf8Len(text) > limits.max_message) {
      note(tooLong(text)); // the text stays in the box to be shortened
      return;
    }
    note("");
    enqueue(text);
    ui.input.value = "";
    inputChanged();
    ui.input.focus();
    pump();
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
      closed(e);
      for (const x of outbox) showEntry(x);
      showState();
    };
    showState();
  }

  function closed(e) {
    clearTimeout(pumpTimer);
    pumpTimer = 0;
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
      for (const e of outbox) e.seq = 0;
    }
    epoch = ev.epoch;
    if (ev.session) session = ev.session;
    limits = { ...DEFAULT_LIMITS, ...(ev.limits || {}) };
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
    showUsers();
    // Everything not acknowledged goes again, with its id, after whatever the history already settled:
    // the server answers an id it has recorded with the original number.
    for (const e of outbox) if (e.status !== "failed") e.status = "queued";
    tokens = Math.max(0, limits.burst - 1); // the join took one
    tokensAt = performance.now();
    pausedUntil = 0;
    showState();
    for (const e of outbox) showEntry(e);
    inputChanged();
    pump();
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
      case "ack":
        acked(ev);
        break;
      case "presence": // servers before the joined/left deltas
        users.clear();
        for (const u of ev.users || []) users.add(u);
        showUsers();
        break;
      case "error": {
        const e = ev.id ? outbox.find((x) => x.id === ev.id) : null;
        if (e) {
          refusedSend(e, ev);
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
      for (const x of outbox) {
        if (x.status === "failed") continue;
        x.status = "failed";
        x.reason = room ? `written in #${room}` : "not sent";
        showEntry(x);
      }
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
    for (const x of Array.isArray(saved.outbox) ? saved.outbox : []) {
      if (!x || typeof x.id !== "string" || typeof x.text !== "string") continue;
      if (typeof x.failed === "string") enqueue(x.text, x.id, "failed", x.failed);
      else enqueue(x.text, x.id, x.sent ? "sent" : "queued");
    }
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
})();
