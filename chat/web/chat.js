// The duplex chat page. Every string that comes from a user (nicknames, room names, messages, close
// reasons) reaches the page through textContent, never as HTML.
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const ui = {
    title: $("title"), state: $("state"), me: $("me"),
    panel: document.querySelector(".record-panel"), record: $("record"),
    users: $("users"), count: $("count"),
    input: $("input"), send: $("send"), close: $("close"),
    join: $("join"), joinForm: $("join-form"), nick: $("nick"), room: $("room"), joinError: $("join-error"),
  };

  // The names of WebSocket.readyState values, as the browser defines them.
  const STATES = ["CONNECTING", "OPEN", "CLOSING", "CLOSED"];
  // Close codes after which reconnecting would only be refused again: the server said why, so say it and stop.
  const FINAL = new Set([1003, 1008, 1009]);
  const MAX_BACKOFF = 10000;

  let ws = null;
  let nick = "";
  let room = "";
  let epoch = "";     // which life of the room lastSeq counts in
  let lastSeq = 0;    // the last recorded event shown; a reconnect asks for what came after it
  let joined = false;
  let everJoined = false;
  let userClosed = false;
  let retries = 0;
  let retryTimer = 0;
  let lostNotice = null; // the one notice that tracks a lost connection until it is back

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

  function timeEl(iso) {
    const t = el("time", "time");
    const d = new Date(iso);
    if (!isNaN(d)) {
      t.dateTime = d.toISOString();
      t.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
      t.title = d.toLocaleString();
    }
    return t;
  }

  // append adds an entry to the record and follows the newest one, unless the reader scrolled up to read.
  function append(li, follow) {
    const p = ui.panel;
    const atBottom = p.scrollHeight - p.scrollTop - p.clientHeight < 80;
    ui.record.append(li);
    if (atBottom || follow) p.scrollTop = p.scrollHeight;
  }

  function addMessage(ev) {
    const mine = ev.nick === nick;
    const li = el("li", mine ? "msg mine" : "msg");
    li.dataset.seq = ev.seq;
    const avatar = el("span", "avatar", [...ev.nick][0] || "?");
    avatar.style.background = colorOf(ev.nick);
    const meta = el("div", "meta");
    const who = el("span", "nick", ev.nick);
    who.style.color = colorOf(ev.nick);
    meta.append(who, timeEl(ev.time));
    li.append(avatar, meta, el("div", "text", ev.text));
    append(li, mine);
  }

  function addNotice(text, iso, problem, seq) {
    const li = el("li", problem ? "notice problem" : "notice", text);
    if (seq) li.dataset.seq = seq;
    if (iso) li.append(timeEl(iso));
    append(li, true);
  }

  // recorded shows a numbered event once: after a reconnect the history may repeat what is on screen.
  function recorded(ev) {
    if (!ev.seq || ev.seq <= lastSeq) return;
    lastSeq = ev.seq;
    switch (ev.type) {
      case "message": addMessage(ev); break;
      case "joined": addNotice(`${ev.nick} joined`, ev.time, false, ev.seq); break;
      case "left": addNotice(`${ev.nick} left`, ev.time, false, ev.seq); break;
    }
  }

  function showUsers(users) {
    ui.users.replaceChildren(...users.map((u) => el("li", u === nick ? "me-user" : "", u)));
    ui.count.textContent = users.length;
  }

  function showState() {
    const s = ws ? ws.readyState : WebSocket.CLOSED;
    const name = STATES[s];
    if (ui.state.textContent !== name) {
      ui.state.textContent = name;
      ui.state.className = "state state-" + name.toLowerCase();
    }
    const ready = s === WebSocket.OPEN && joined;
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

  function connect() {
    clearTimeout(retryTimer);
    retryTimer = 0;
    userClosed = false;
    joined = false;
    const sock = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/ws");
    ws = sock;
    sock.onopen = () => {
      sendJSON({ type: "join", room, nick, since: lastSeq, epoch });
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
    if (FINAL.has(e.code) || !everJoined) {
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

  function handle(ev) {
    switch (ev.type) {
      case "welcome": {
        const again = everJoined;
        joined = everJoined = true;
        retries = 0;
        nick = ev.nick;
        room = ev.room;
        if (epoch && ev.epoch !== epoch) {
          lastSeq = 0; // the server restarted the room: its numbers start over
        }
        epoch = ev.epoch;
        document.title = `#${room} · duplex chat`;
        ui.title.textContent = `#${room}`;
        ui.me.textContent = `signed in as ${nick}`;
        ui.join.hidden = true;
        if (again) addNotice("Reconnected.", null, false);
        lostNotice = null;
        const history = ev.history || [];
        // The room keeps a bounded record: say so when what was missed no longer fits in it.
        if (lastSeq > 0 && history.length > 0 && history[0].seq > lastSeq + 1) {
          addNotice("Some messages from while you were away are no longer available.", null, true);
        }
        for (const h of history) recorded(h);
        lastSeq = Math.max(lastSeq, ev.seq || 0);
        showUsers(ev.users || []);
        showState();
        ui.input.focus();
        break;
      }
      case "message":
      case "joined":
      case "left":
        recorded(ev);
        break;
      case "presence":
        showUsers(ev.users || []);
        break;
      case "error":
        if (!joined) openJoin(ev.text || ev.code);
        else addNotice(ev.text || ev.code, null, true);
        break;
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
    if (r !== room) { lastSeq = 0; epoch = ""; ui.record.replaceChildren(); }
    nick = n;
    room = r;
    if (ws && ws.readyState === WebSocket.OPEN && !joined) {
      sendJSON({ type: "join", room, nick, since: lastSeq, epoch });
    } else {
      connect();
    }
  });

  function sendText() {
    const text = ui.input.value;
    if (!joined || text.trim() === "") return;
    sendJSON({ type: "send", text });
    ui.input.value = "";
    autosize();
    ui.input.focus();
  }

  function autosize() {
    if (ui.input.value === "") {
      ui.input.style.height = ""; // a wrapped placeholder must not grow the box
      return;
    }
    ui.input.style.height = "auto";
    ui.input.style.height = Math.min(ui.input.scrollHeight + 2, 160) + "px";
  }

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
  ui.input.addEventListener("input", autosize);
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
    if (ws && ws.readyState <= WebSocket.OPEN) {
      userClosed = true;
      ws.close(1000, "page closed");
    }
  });

  // readyState changes without an event when a close starts; polling keeps the shown state exact.
  setInterval(showState, 200);

  ui.room.value = new URLSearchParams(location.search).get("room") || "";
  showState();
  openJoin("");
})();
