// Building the record's entries. Every string from a user goes in through textContent, never as HTML.

export function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

// colorOf gives each nickname a color of its own, the same on every page.
export function colorOf(name) {
  let h = 0;
  for (const ch of name) h = (h * 31 + ch.codePointAt(0)) % 360;
  return `hsl(${h}, 55%, 42%)`;
}

// setTime shows the server's time iso (RFC 3339) in t; a missing or bad one leaves t empty.
export function setTime(t, iso) {
  const d = new Date(iso);
  if (!iso || isNaN(d)) return;
  t.dateTime = d.toISOString();
  t.textContent = d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit", hour12: false });
  t.title = d.toLocaleString();
}

export function timeEl(iso) {
  const t = el("time", "time");
  setTime(t, iso);
  return t;
}

// msgEl is a message from nickname from; mine marks the reader's own.
export function msgEl(from, text, iso, mine) {
  const li = el("li", mine ? "msg mine" : "msg");
  const avatar = el("span", "avatar", [...from][0] || "?");
  avatar.style.background = colorOf(from);
  const meta = el("div", "meta");
  const who = el("span", "nick", from);
  who.style.color = colorOf(from);
  meta.append(who, timeEl(iso));
  li.append(avatar, meta, el("div", "text", text));
  return li;
}

export function noticeEl(text, iso, problem) {
  const li = el("li", problem ? "notice problem" : "notice", text);
  if (iso) li.append(timeEl(iso));
  return li;
}
