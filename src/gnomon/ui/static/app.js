// Gnomon UI: a little progressive enhancement on server-rendered pages.
// Local times, dialogs, the namespace switcher, bulk selection, and live refresh.
"use strict";

const $ = (selector, root = document) => root.querySelector(selector);
const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

// ---- times: shown in local time, UTC on hover ------------------------------------------
const timeFormat = new Intl.DateTimeFormat(undefined, {
  year: "numeric", month: "short", day: "numeric",
  hour: "2-digit", minute: "2-digit", second: "2-digit",
});
const thisYearFormat = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric", hour: "2-digit", minute: "2-digit", second: "2-digit",
});

const preciseFormat = new Intl.DateTimeFormat(undefined, {
  month: "short", day: "numeric",
  hour: "2-digit", minute: "2-digit", second: "2-digit", fractionalSecondDigits: 3,
});

function localizeTimes(root = document) {
  for (const el of $$("time[datetime]", root)) {
    const when = new Date(el.getAttribute("datetime"));
    if (isNaN(when)) continue;
    const format = el.hasAttribute("data-precise") ? preciseFormat
      : when.getFullYear() === new Date().getFullYear() ? thisYearFormat : timeFormat;
    el.textContent = format.format(when);
  }
}

// ---- dialogs, flash, namespace switcher ------------------------------------------------
function openDialog(id) {
  const dialog = document.getElementById(id);
  if (dialog) {
    dialog.showModal();
    const first = $("input:not([type=hidden]), textarea", dialog);
    if (first) first.focus();
  }
}

document.addEventListener("click", (event) => {
  const opener = event.target.closest("[data-open-dialog]");
  if (opener) openDialog(opener.dataset.openDialog);
  const closer = event.target.closest("[data-dialog-close]");
  if (closer) closer.closest("dialog").close();
  const dismiss = event.target.closest("[data-dismiss]");
  if (dismiss) dismiss.closest("[data-flash]").remove();
  const fill = event.target.closest("[data-fill-query]");
  if (fill) $("[data-query-name]").value = fill.dataset.fillQuery;
  const expand = event.target.closest("[data-expand-all]");
  if (expand) {
    const events = $$("details.event");
    const open = !events.every((d) => d.open);
    events.forEach((d) => { d.open = open; });
    expand.textContent = open ? "Collapse all" : "Expand all";
  }
});

function switchNamespace(select) {
  const parts = location.pathname.split("/");
  const section = parts[1] === "namespaces" && parts.length > 3 ? parts[3] : "workflows";
  const keep = ["workflows", "task-queues", "search-attributes", "settings"].includes(section) ? section : "workflows";
  location.href = `/namespaces/${encodeURIComponent(select.value)}/${keep}`;
}

function openTargetEvent() {
  const target = location.hash && document.getElementById(location.hash.slice(1));
  if (target && target.tagName === "DETAILS") target.open = true;
}

// ---- bulk selection on the workflows list ---------------------------------------------
const bulk = {
  form: null,
  scope: "selected",

  init() {
    this.form = $("[data-bulk-form]");
    if (!this.form) return;
    this.form.addEventListener("change", (event) => {
      if (event.target.matches("[data-check-all]")) {
        $$("[data-row-check]", this.form).forEach((box) => { box.checked = event.target.checked; });
      }
      if (event.target.matches("[data-check-all], [data-row-check]")) {
        this.scope = "selected";
        this.update();
      }
    });
    this.form.addEventListener("click", (event) => {
      if (event.target.closest("[data-select-query]")) {
        this.scope = this.scope === "query" ? "selected" : "query";
        if (this.scope === "selected") this.clear();
        this.update();
      }
      const opener = event.target.closest("[data-bulk-open]");
      if (opener) this.confirm(opener.dataset.bulkOpen);
    });
    this.update();
  },

  checked() { return $$("[data-row-check]:checked", this.form); },
  total() { return Number(($("[data-bulk-total]") || {}).dataset?.bulkTotal || 0); },
  clear() { $$("[data-row-check], [data-check-all]", this.form).forEach((box) => { box.checked = false; }); },

  count() { return this.scope === "query" ? this.total() : this.checked().length; },

  update() {
    if (!this.form) return;
    const selected = this.checked().length;
    const boxes = $$("[data-row-check]", this.form);
    const all = $("[data-check-all]", this.form);
    if (all) all.checked = boxes.length > 0 && selected === boxes.length;
    $$("tr[data-row]", this.form).forEach((row) => {
      const box = $("[data-row-check]", row);
      row.classList.toggle("selected", Boolean(box && box.checked) || (this.scope === "query" && Boolean(box)));
    });
    $("[data-bulk-bar]").hidden = selected === 0 && this.scope !== "query";
    $("[data-bulk-scope]", this.form).value = this.scope;
    const label = $("[data-selected-label]");
    const selectQuery = $("[data-select-query]");
    const total = this.total();
    if (this.scope === "query") {
      label.textContent = `All ${total.toLocaleString()} running workflows matching this query are selected`;
      selectQuery.textContent = "Clear selection";
      selectQuery.hidden = false;
    } else {
      label.textContent = `${selected} selected`;
      selectQuery.textContent = `Select all ${total.toLocaleString()} running workflows matching this query`;
      selectQuery.hidden = !(all && all.checked && total > selected);
    }
  },

  confirm(action) {
    const dialog = $("[data-bulk-dialog]");
    const verbs = { cancel: "Request cancellation of", terminate: "Terminate", signal: "Signal" };
    const count = this.count();
    const noun = `${count.toLocaleString()} workflow${count === 1 ? "" : "s"}`;
    const query = $("input[name=query]", this.form).value;
    $("[data-bulk-action]", this.form).value = action;
    $("[data-bulk-title]", dialog).textContent = `${verbs[action]} ${this.scope === "query" ? "all " : ""}${noun}?`;
    const summary = $("[data-bulk-summary]", dialog);
    summary.textContent = this.scope === "query"
      ? `This applies to every running workflow matching ${query ? `“${query}”` : "no filter (the whole namespace)"}: ${noun} right now.`
      : `This applies to the ${noun} you selected.`;
    if (action === "terminate") summary.textContent += " Terminated workflows stop at once and cannot be resumed.";
    $$("[data-bulk-fields]", dialog).forEach((group) => {
      group.hidden = !group.dataset.bulkFields.split(" ").includes(action);
    });
    const button = $("[data-bulk-confirm]", dialog);
    button.textContent = `${action === "cancel" ? "Request cancellation" : verbs[action]} ${noun}`;
    button.className = `btn ${action === "terminate" ? "btn-danger" : "btn-primary"}`;
    dialog.showModal();
  },
};

// ---- live refresh -----------------------------------------------------------------------
const live = {
  timer: null,
  interval: 3000,

  enabled() { return localStorage.getItem("gnomon.live") !== "off"; },

  init() {
    if (!document.body.hasAttribute("data-live-page")) return;
    const toggle = $("[data-live-toggle]");
    if (toggle) {
      toggle.hidden = document.body.dataset.live !== "on";
      toggle.addEventListener("click", () => {
        localStorage.setItem("gnomon.live", this.enabled() ? "off" : "on");
        this.render();
        this.schedule();
      });
    }
    this.render();
    this.schedule();
  },

  render() {
    const toggle = $("[data-live-toggle]");
    if (!toggle) return;
    toggle.classList.toggle("on", this.enabled());
    $("[data-live-label]", toggle).textContent = this.enabled() ? "Live" : "Paused";
  },

  schedule() {
    clearTimeout(this.timer);
    if (document.body.dataset.live === "on" && this.enabled()) {
      this.timer = setTimeout(() => this.refresh(), this.interval);
    }
  },

  busy() {
    return Boolean($("dialog[open]") || $("details.menu-button[open]") || document.hidden);
  },

  async refresh() {
    if (this.busy()) return this.schedule();
    let html;
    try {
      const response = await fetch(location.href, { headers: { "X-Requested-With": "gnomon-live" } });
      if (!response.ok) return this.schedule();
      html = await response.text();
    } catch (error) {
      return this.schedule();
    }
    if (this.busy()) return this.schedule();
    const fresh = new DOMParser().parseFromString(html, "text/html");
    if (fresh.body.dataset.live !== "on") {
      // The last run closed: take the whole page (actions, result, final history).
      $("main").replaceWith(document.adoptNode(fresh.querySelector("main")));
      document.body.dataset.live = "off";
      const toggle = $("[data-live-toggle]");
      if (toggle) toggle.hidden = true;
      localizeTimes();
      bulk.init();
      return;
    }
    const open = new Set($$("details[open][id]").map((d) => d.id));
    const checked = new Set($$("[data-row-check]:checked").map((box) => box.value));
    for (const region of $$("[data-live-region]")) {
      const replacement = fresh.querySelector(`[data-live-region="${region.dataset.liveRegion}"]`);
      if (replacement) region.innerHTML = replacement.innerHTML;
    }
    $$("details[id]").forEach((d) => { if (open.has(d.id)) d.open = true; });
    $$("[data-row-check]").forEach((box) => { box.checked = checked.has(box.value); });
    localizeTimes();
    bulk.update();
    this.schedule();
  },
};

document.addEventListener("DOMContentLoaded", () => {
  localizeTimes();
  const select = $("[data-namespace-switch] select");
  if (select) select.addEventListener("change", () => switchNamespace(select));
  openTargetEvent();
  window.addEventListener("hashchange", openTargetEvent);
  bulk.init();
  live.init();
  const flash = $("[data-flash].flash-ok");
  if (flash) setTimeout(() => flash.remove(), 8000);
});
