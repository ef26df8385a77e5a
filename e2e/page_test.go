package e2e

// The drivers of the chat page (chat/web): what a test does in it, reads from it, and waits for.

import (
	"encoding/json"
	"fmt"

	"github.com/chromedp/chromedp"
	"github.com/chromedp/chromedp/kb"
)

// join fills the join form and waits until the page shows the room open.
func (p *page) join(nick string) {
	p.t.Helper()
	p.do(
		chromedp.SetValue(chromedp.ID("nick"), nick),
		chromedp.Click(chromedp.ID("join-button")),
	)
	p.waitFor(joinedOpen)
}

// say puts text into the message box and presses Enter in it. (The value is set rather than typed because
// synthesized key events cannot type characters outside the Basic Multilingual Plane, such as emoji.)
func (p *page) say(text string) {
	p.t.Helper()
	p.do(chromedp.SetValue(chromedp.ID("input"), text), chromedp.SendKeys(chromedp.ID("input"), kb.Enter))
}

// enter presses Enter in the message box, sending what is there.
func (p *page) enter() {
	p.t.Helper()
	p.do(chromedp.SendKeys(chromedp.ID("input"), kb.Enter))
}

// typeText puts text into the message box as typing would: the value, then the input event.
func (p *page) typeText(text string) {
	p.t.Helper()
	p.do(chromedp.SetValue(chromedp.ID("input"), text),
		chromedp.Evaluate[chromedp.Void](`document.getElementById("input").dispatchEvent(new Event("input"))`))
}

// text returns the text content of the element with the given id.
func (p *page) text(id string) string {
	p.t.Helper()
	var s string
	p.eval(`document.getElementById(`+jsString(id)+`).textContent`, &s)
	return s
}

// state returns the readyState the page shows.
func (p *page) state() string {
	p.t.Helper()
	return p.text("state")
}

// entry is one line of the record panel as the page shows it.
type entry struct {
	Kind string `json:"kind"` // "msg" or "notice"
	Seq  int    `json:"seq"`
	Nick string `json:"nick"`
	Text string `json:"text"`
	Time string `json:"time"` // the datetime attribute (ISO 8601), "" when the entry has none
}

func (p *page) record() []entry {
	p.t.Helper()
	var out []entry
	p.eval(`[...document.querySelectorAll("#record > li")].map(li => ({
		kind: li.classList.contains("msg") ? "msg" : "notice",
		seq: Number(li.dataset.seq || 0),
		nick: li.querySelector(".nick")?.textContent || "",
		text: li.classList.contains("msg") ? li.querySelector(".text").textContent : li.firstChild.nodeValue,
		time: li.querySelector("time")?.dateTime || "",
	}))`, &out)
	return out
}

// messagesFrom returns the record's messages from nick, in the order shown.
func (p *page) messagesFrom(nick string) []entry {
	p.t.Helper()
	var out []entry
	for _, e := range p.record() {
		if e.Kind == "msg" && e.Nick == nick {
			out = append(out, e)
		}
	}
	return out
}

// messages returns the texts of the record's messages from nick, in the order shown.
func (p *page) messages(nick string) []string {
	p.t.Helper()
	var out []string
	for _, e := range p.messagesFrom(nick) {
		out = append(out, e.Text)
	}
	return out
}

func (p *page) users() []string {
	var out []string
	p.eval(`[...document.querySelectorAll("#users li")].map(li => li.textContent)`, &out)
	return out
}

// pending is one entry of the page's outbox, as shown.
type pending struct {
	ID     string `json:"id"`
	Class  string `json:"class"` // "msg mine pending" or "msg mine failed"
	Text   string `json:"text"`
	Status string `json:"status"`
}

func (p *page) outbox() []pending {
	p.t.Helper()
	var out []pending
	p.eval(`[...document.querySelectorAll("#outbox > li")].map(li => ({
		id: li.dataset.id, class: li.className,
		text: li.querySelector(".text").textContent, status: li.querySelector(".status").textContent,
	}))`, &out)
	return out
}

// composer is what the page shows around the message box.
type composer struct {
	Input    string `json:"input"`
	Counter  string `json:"counter"`
	Over     bool   `json:"over"`
	Note     string `json:"note"`
	Disabled bool   `json:"disabled"`
}

func (p *page) composer() composer {
	p.t.Helper()
	var c composer
	p.eval(`({input: document.getElementById("input").value, counter: document.getElementById("counter").textContent,
		over: document.getElementById("counter").classList.contains("over"),
		note: document.getElementById("composer-note").textContent, disabled: document.getElementById("input").disabled})`, &c)
	return c
}

// jsString quotes s for use in a JavaScript expression.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// The JavaScript predicates below are for page.waitFor.

// joinedOpen: the page shows the room open, the join form gone.
const joinedOpen = `document.getElementById("state").textContent === "OPEN" && document.getElementById("join").hidden`

// stateIs: the page shows the readyState state.
func stateIs(state string) string {
	return `document.getElementById("state").textContent === ` + jsString(state)
}

// hasMessage: the record shows a message from nick with exactly text.
func hasMessage(nick, text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#record .msg")].some(li =>
		li.querySelector(".nick").textContent === %s && li.querySelector(".text").textContent === %s)`,
		jsString(nick), jsString(text))
}

// hasNotice: the record shows a notice starting with text.
func hasNotice(text string) string {
	return fmt.Sprintf(`[...document.querySelectorAll("#record .notice")].some(li => li.firstChild.nodeValue.startsWith(%s))`, jsString(text))
}

// noOutbox: nothing waits in the outbox.
const noOutbox = `document.querySelectorAll("#outbox > li").length === 0`

// hasFailed: the outbox shows a message that failed.
const hasFailed = `document.querySelector("#outbox > li.failed") !== null`

// usersAre: the presence list shows exactly these names, in this order.
func usersAre(names ...string) string {
	list, _ := json.Marshal(names)
	return `JSON.stringify([...document.querySelectorAll("#users li")].map(li => li.textContent)) === ` + jsString(string(list))
}

// countIs: the count beside "Online" reads n.
func countIs(n int) string {
	return fmt.Sprintf(`document.getElementById("count").textContent === "%d"`, n)
}

// presenceSays: the summary under the count holds text.
func presenceSays(text string) string {
	return `document.getElementById("presence").textContent.includes(` + jsString(text) + `)`
}
