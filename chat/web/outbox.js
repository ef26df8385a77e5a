// The outbox: every message the user wrote that the server has not acknowledged yet, oldest first, and
// the pacing that sends them. It holds no DOM and no socket: the page gives it a function that sends one
// entry and is told of each change, so the rules here read apart from how they are shown. (A module is
// strict code by itself.)

// The server's defaults, used until a welcome says otherwise.
export const DEFAULT_LIMITS = Object.freeze({ max_message: 4096, rate: 5, burst: 10, max_room: 0 });

// Sends are paced a little under the server's rate, so that network jitter cannot bunch two of them into
// one of its intervals; a refusal all the same is waited out (retry_ms) and the message sent again.
const PACE = 0.9;

// The protocol allows ids of 1 to 64 of [A-Za-z0-9_-]; 64 symbols make one per 6 random bits.
const ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-";

const encoder = new TextEncoder();

// utf8Len is the size of s as the server counts it against max_message.
export function utf8Len(s) { return encoder.encode(s).length; }

export function newId() {
  const b = new Uint8Array(16);
  crypto.getRandomValues(b);
  return Array.from(b, (x) => ID_CHARS[x & 63]).join("");
}

// An entry's status is "queued" (to be sent on the current connection), "sent" (sent, no ack yet) or
// "failed" (refused, with reason). seq is the record entry it was matched to before its ack came, if any;
// view belongs to the page.
export class Outbox {
  // transmit(entry) sends one entry on the socket; changed(entry) is called after an entry's status
  // changes and saved() after anything a reload should keep changes.
  constructor(transmit, changed, saved) {
    this.entries = [];
    this.limits = { ...DEFAULT_LIMITS };
    this.transmit = transmit;
    this.changed = changed;
    this.saved = saved;
    this.ready = false; // joined on an open socket
    // A token bucket mirroring the server's, refilled at PACE x rate up to burst.
    this.tokens = 0;
    this.tokensAt = 0;
    this.pausedUntil = 0; // a rate_limited refusal's retry_ms
    this.timer = 0;
  }

  add(text, id, status, reason) {
    const e = { id: id || newId(), text, status: status || "queued", reason: reason || "", seq: 0, view: null };
    this.entries.push(e);
    return e;
  }

  find(id) { return this.entries.find((e) => e.id === id) || null; }

  remove(e) {
    this.entries = this.entries.filter((x) => x !== e);
    this.saved();
  }

  // claim finds the oldest sent message with this text that no record entry stands for yet. The server
  // handles one connection's sends in order, so our own broadcasts come in the order we sent them.
  claim(text) {
    return this.entries.find((e) => e.status === "sent" && !e.seq && e.text === text) || null;
  }

  // start is called on a welcome: everything not acknowledged goes again, with its id, and the server
  // answers an id it has recorded with the original number.
  start(limits) {
    this.limits = { ...DEFAULT_LIMITS, ...(limits || {}) };
    for (const e of this.entries) if (e.status !== "failed") e.status = "queued";
    this.tokens = Math.max(0, this.limits.burst - 1); // the join took one
    this.tokensAt = performance.now();
    this.pausedUntil = 0;
    this.ready = true;
    for (const e of this.entries) this.changed(e);
    this.pump();
  }

  // stop is called when the connection ends: what was sent stays "sent" until the next welcome.
  stop() {
    this.ready = false;
    clearTimeout(this.timer);
    this.timer = 0;
    for (const e of this.entries) this.changed(e);
  }

  retry(e) {
    e.status = "queued";
    this.changed(e);
    this.saved();
    this.pump();
  }

  // refused handles an error event that names the entry.
  refused(e, ev) {
    switch (ev.code) {
      case "rate_limited":
      case "unavailable":
        // Sent before the server's bucket refilled, or while its store (NATS) was unreachable, so
        // nothing was stored: wait as long as it says, then send it again with the same id.
        e.status = "queued";
        this.tokens = 0;
        this.pausedUntil = performance.now() + (ev.retry_ms > 0 ? ev.retry_ms : 1000);
        break;
      case "not_joined":
        e.status = "queued"; // the next welcome sends it
        break;
      default:
        e.status = "failed";
        e.reason = ev.text || ev.code;
    }
    this.changed(e);
    this.saved();
    if (ev.code === "rate_limited" || ev.code === "unavailable") this.pump();
  }

  // failAll marks every entry not yet failed as failed, with reason (the user left the room they were for).
  failAll(reason) {
    for (const e of this.entries) {
      if (e.status === "failed") continue;
      e.status = "failed";
      e.reason = reason;
      this.changed(e);
    }
    this.saved();
  }

  // pump sends queued entries, in order, as fast as the limits allow, and comes back for the rest.
  pump() {
    clearTimeout(this.timer);
    this.timer = 0;
    if (!this.ready) return;
    const now = performance.now();
    if (now < this.pausedUntil) {
      this.timer = setTimeout(() => this.pump(), this.pausedUntil - now);
      return;
    }
    const rate = this.limits.rate > 0 ? this.limits.rate * PACE : 0;
    if (rate) {
      this.tokens = Math.min(Math.max(1, this.limits.burst), this.tokens + ((now - this.tokensAt) / 1000) * rate);
    }
    this.tokensAt = now;
    let sent = false;
    for (const e of this.entries) {
      if (e.status !== "queued") continue;
      if (rate && this.tokens < 1) {
        this.timer = setTimeout(() => this.pump(), Math.max(10, ((1 - this.tokens) / rate) * 1000));
        break;
      }
      this.tokens -= 1;
      e.status = "sent";
      this.transmit(e);
      this.changed(e);
      sent = true;
    }
    if (sent) this.saved();
  }

  // snapshot is what a reload needs to resume the outbox; restore takes it back.
  snapshot() {
    return this.entries.map((e) => ({
      id: e.id, text: e.text, sent: e.status === "sent", failed: e.status === "failed" ? e.reason : undefined,
    }));
  }

  restore(list) {
    const out = [];
    for (const x of Array.isArray(list) ? list : []) {
      if (!x || typeof x.id !== "string" || typeof x.text !== "string") continue;
      if (typeof x.failed === "string") out.push(this.add(x.text, x.id, "failed", x.failed));
      else out.push(this.add(x.text, x.id, x.sent ? "sent" : "queued"));
    }
    return out;
  }
}
