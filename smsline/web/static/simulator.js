// The phone simulator: each [data-phone] section texts the line as its chosen number and polls that
// number's inbox every 2 s. Numbers only ever travel in JSON POST bodies. No inline script, no
// innerHTML: message text is set with textContent, so a strict CSP holds and nothing is injected.
"use strict";

(function () {
  const root = document.querySelector(".simulator[data-send-url]");
  if (!root) return;
  const POLL_MS = 2000;
  const urls = {
    send: root.dataset.sendUrl,
    inbox: root.dataset.inboxUrl,
    supporter: root.dataset.supporterUrl,
  };
  const ROLE_LABEL = { member: "member", supporter: "peer supporter", coordinator: "coordinator" };

  // Under the admin every POST carries its CSRF token, from the page's <meta name="csrf-token">.
  const csrfMeta = document.querySelector('meta[name="csrf-token"]');

  function headers() {
    const result = { "Content-Type": "application/json", Accept: "application/json" };
    if (csrfMeta) result["X-CSRFToken"] = csrfMeta.content;
    return result;
  }

  async function post(url, payload) {
    const response = await fetch(url, {
      method: "POST",
      headers: headers(),
      body: JSON.stringify(payload),
      credentials: "same-origin",
      cache: "no-store",
    });
    let data = null;
    try {
      data = await response.json();
    } catch (_error) {
      data = null;
    }
    if (!response.ok) {
      throw new Error((data && data.error) || "the line answered " + response.status);
    }
    return data;
  }

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function clock(iso) {
    const moment = new Date(iso);
    if (Number.isNaN(moment.getTime())) return "";
    return moment.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  }

  function describe(item) {
    if (item.direction === "in") return item.route ? "route: " + item.route : "received";
    if (item.status === "suppressed") return (item.kind || "text") + " · not sent: suppressed";
    return (item.kind || "text") + " · " + item.status;
  }

  class Phone {
    constructor(section) {
      this.section = section;
      this.who = section.querySelector("[data-who]");
      this.preset = section.querySelector("[data-preset]");
      this.custom = section.querySelector("[data-custom]");
      this.number = section.querySelector("[data-number]");
      this.roleChoice = section.querySelector("[data-role-choice]");
      this.name = section.querySelector("[data-supporter-name]");
      this.thread = section.querySelector("[data-thread]");
      this.body = section.querySelector("[data-body]");
      this.sendButton = section.querySelector("[data-send]");
      this.status = section.querySelector("[data-status]");
      this.phone = null; // the number as typed or preset; the server normalises it
      this.generation = 0; // bumped on every switch, so late answers for the old number are dropped
      this.seen = new Map(); // message id -> its meta element
      this.polling = false;

      this.preset.addEventListener("change", () => this.choosePreset());
      section.querySelector("[data-who-form]").addEventListener("submit", (event) => {
        event.preventDefault();
        this.chooseCustom();
      });
      section.querySelector("[data-send-form]").addEventListener("submit", (event) => {
        event.preventDefault();
        this.send();
      });
      this.body.addEventListener("keydown", (event) => {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
          event.preventDefault();
          this.send();
        }
      });
      this.choosePreset();
    }

    say(message, isError) {
      this.status.textContent = message;
      this.status.classList.toggle("error", Boolean(isError));
    }

    choosePreset() {
      const option = this.preset.selectedOptions[0];
      const role = option.dataset.role;
      this.custom.hidden = role !== "custom";
      if (role === "custom") {
        this.switchTo(null, "");
        this.say("Type a number and choose who it is.");
        this.number.focus();
        return;
      }
      this.become(option.value, option.dataset.name, role);
    }

    chooseCustom() {
      if (this.preset.value !== "") return; // Enter pressed while a preset is chosen
      const number = this.number.value.trim();
      const role = this.roleChoice.value;
      const name = this.name.value.trim();
      if (!number) {
        this.say("Type a phone number first.", true);
        this.number.focus();
        return;
      }
      if (role !== "member" && !name) {
        this.say("Give the " + ROLE_LABEL[role] + " a name.", true);
        this.name.focus();
        return;
      }
      this.become(number, name, role);
    }

    async become(number, name, role) {
      const label = (name ? name + ", " : number + ", ") + ROLE_LABEL[role];
      const generation = this.switchTo(null, "switching…");
      try {
        if (role !== "member") {
          const made = await post(urls.supporter, {
            phone: number,
            name: name,
            coordinator: role === "coordinator",
          });
          if (generation !== this.generation) return;
          this.say(
            made.name + (made.created ? " is now a simulated " : " is a simulated ") +
              ROLE_LABEL[role] + "."
          );
        } else {
          this.say("");
        }
        await this.refresh(number, generation);
        if (generation !== this.generation) return;
        this.switchTo(number, label, generation);
      } catch (error) {
        if (generation !== this.generation) return;
        this.switchTo(null, "not chosen yet", generation);
        this.say(error.message, true);
      }
    }

    switchTo(number, label, generation) {
      if (generation === undefined) {
        this.generation += 1;
        this.thread.replaceChildren();
        this.seen.clear();
      }
      this.phone = number;
      this.who.textContent = label;
      this.body.disabled = number === null;
      this.sendButton.disabled = number === null;
      return this.generation;
    }

    async refresh(number, generation) {
      const items = await post(urls.inbox, { phone: number });
      if (generation !== this.generation) return;
      for (const item of items) this.show(item);
    }

    async poll() {
      if (this.phone === null || this.polling) return;
      this.polling = true;
      try {
        await this.refresh(this.phone, this.generation);
      } catch (_error) {
        // the dev server restarting: the next poll tries again
      } finally {
        this.polling = false;
      }
    }

    show(item) {
      const known = this.seen.get(item.id);
      if (known) {
        known.textContent = describe(item);
        return;
      }
      const bubble = element("li", "msg msg-" + item.direction);
      if (item.status === "suppressed") bubble.classList.add("msg-suppressed");
      bubble.append(element("span", "visually-hidden", item.direction === "in" ? "You: " : "The line: "));
      bubble.append(element("p", "msg-body", item.body));
      const meta = element("p", "msg-meta");
      const time = element("time", "", clock(item.at));
      time.dateTime = item.at;
      const detail = element("span", "", describe(item));
      meta.append(time, " · ", detail);
      bubble.append(meta);
      this.seen.set(item.id, detail);
      this.append(bubble);
    }

    note(text) {
      this.append(element("li", "msg-note", text));
    }

    append(node) {
      this.thread.append(node);
      this.thread.scrollTop = this.thread.scrollHeight;
      // again once laid out: wrapping can grow the thread after the first measure
      window.requestAnimationFrame(() => {
        this.thread.scrollTop = this.thread.scrollHeight;
      });
    }

    async send() {
      const text = this.body.value.trim();
      if (this.phone === null || !text || this.sendButton.disabled) return;
      const number = this.phone;
      const generation = this.generation;
      this.sendButton.disabled = true;
      this.say("Sending…");
      try {
        const answer = await post(urls.send, { from: number, body: text });
        if (generation !== this.generation) return;
        this.body.value = "";
        await this.refresh(number, generation);
        if (generation !== this.generation) return;
        if (answer.replies.length === 0) {
          this.note("No answer from the line" + (answer.route ? " (route: " + answer.route + ")" : "") + ".");
        }
        this.say("");
      } catch (error) {
        if (generation === this.generation) this.say(error.message, true);
      } finally {
        if (generation === this.generation) this.sendButton.disabled = false;
        this.body.focus();
      }
    }
  }

  const phones = Array.from(document.querySelectorAll("[data-phone]"), (section) => new Phone(section));
  window.setInterval(() => {
    if (document.hidden) return;
    for (const phone of phones) phone.poll();
  }, POLL_MS);
})();
