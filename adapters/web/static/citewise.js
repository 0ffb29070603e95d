// Citewise web chat: ask without leaving the page, jump to a cited source, vote.
// Every form also works without this script (a plain POST); nothing here is inline,
// so the page's Content-Security-Policy can forbid inline script altogether.
"use strict";

(function () {
  const token = () => document.querySelector('meta[name="csrf-token"]').content;

  async function send(form, body) {
    const response = await fetch(form.action, {
      method: "POST",
      body: body,
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRF-Token": token() },
    });
    try {
      return await response.json();
    } catch (error) {
      return { ok: false, error: "Sorry, something went wrong. Please try again." };
    }
  }

  function fragment(html) {
    const template = document.createElement("template");
    template.innerHTML = html; // server-rendered and escaped there
    return template.content;
  }

  function listThread(html) {
    let list = document.getElementById("threads");
    if (!list) {
      list = document.createElement("ul");
      list.id = "threads";
      list.className = "threads";
      const empty = document.getElementById("threads-empty");
      if (empty) empty.replaceWith(list);
      else return;
    }
    list.querySelectorAll("[aria-current]").forEach((a) => a.removeAttribute("aria-current"));
    list.prepend(fragment(html));
  }

  async function ask(form) {
    const box = form.querySelector("textarea[name=question]");
    const text = box.value.trim();
    const thread = document.getElementById("thread");
    if (!text || !thread) return;
    const body = new FormData(form);
    const button = form.querySelector("button[type=submit]");
    const pending = document.createElement("section");
    pending.className = "turn pending";
    const question = document.createElement("p");
    question.className = "question";
    question.textContent = text;
    const status = document.createElement("p");
    status.className = "searching";
    status.setAttribute("role", "status");
    status.textContent = form.dataset.searching;
    pending.append(question, status);
    thread.append(pending);
    pending.scrollIntoView({ block: "nearest" });
    box.value = "";
    button.disabled = true;
    try {
      const data = await send(form, body);
      if (!data.ok) {
        status.className = "message error";
        status.textContent = data.error;
        return;
      }
      const turn = fragment(data.html);
      pending.replaceWith(turn);
      if (data.saved) {
        form.querySelector("input[name=thread]").value = data.thread;
        form.querySelector("label").textContent = form.dataset.labelFollowup;
        box.placeholder = form.dataset.placeholderFollowup;
        if (location.pathname !== data.url) history.pushState({}, "", data.url);
        if (data.thread_item) listThread(data.thread_item);
      }
    } catch (error) {
      status.className = "message error";
      status.textContent = "Could not reach Citewise. Is it still running?";
    } finally {
      button.disabled = false;
      box.focus();
    }
  }

  async function vote(form, submitter) {
    if (!submitter) return;
    const body = new FormData(form);
    body.set("value", submitter.value);
    const thanks = form.querySelector(".thanks");
    try {
      const data = await send(form, body);
      if (data.ok) {
        form.querySelectorAll("button.vote").forEach((b) => b.setAttribute("aria-pressed", String(b.value === data.vote)));
        thanks.textContent = "Thanks, noted.";
      } else {
        thanks.textContent = data.error;
      }
    } catch (error) {
      thanks.textContent = "Could not reach Citewise. Is it still running?";
    }
  }

  function showSource(id) {
    const target = id && document.getElementById(id);
    if (!target || !target.classList.contains("source")) return false;
    const details = target.closest("details");
    if (details) details.open = true;
    target.setAttribute("tabindex", "-1");
    target.classList.remove("flash");
    void target.offsetWidth; // restart the highlight
    target.classList.add("flash");
    target.scrollIntoView({ block: "center" });
    target.focus({ preventScroll: true });
    return true;
  }

  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.matches("form.ask")) {
      event.preventDefault();
      ask(form);
    } else if (form.matches("form.feedback")) {
      event.preventDefault();
      vote(form, event.submitter);
    }
  });

  document.addEventListener("click", (event) => {
    const cite = event.target.closest("a.cite");
    if (cite && showSource(cite.hash.slice(1))) {
      event.preventDefault();
      history.replaceState(history.state, "", cite.hash);
    }
  });

  window.addEventListener("popstate", () => location.reload());
  document.addEventListener("DOMContentLoaded", () => showSource(location.hash.slice(1)));
})();
