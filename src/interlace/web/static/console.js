// Interlace console: live figures over server-sent events, the sparklines, select-all and
// confirmations. No framework, no build step.
"use strict";

function live() {
  const rows = document.querySelectorAll("tr[data-flow]");
  if (!rows.length || !window.EventSource) return;
  const history = {};
  const status = document.querySelector("[data-live]");
  const at = document.querySelector("[data-live-at]");
  const source = new EventSource("/console/events");
  const show = (v) => (v === null || v === undefined ? "-" : Number(v).toFixed(1));
  source.onmessage = (event) => {
    const data = JSON.parse(event.data);
    let totalIn = 0, totalOut = 0, backlog = 0;
    rows.forEach((row) => {
      const f = data.flows[row.dataset.flow];
      if (!f) return;
      totalIn += f.in || 0; totalOut += f.out || 0; backlog += f.backlog || 0;
      row.querySelector('[data-field="in"]').textContent = show(f.in);
      row.querySelector('[data-field="out"]').textContent = show(f.out);
      row.querySelector('[data-field="error_rate"]').textContent = (f.error_rate * 100).toFixed(1) + "%";
      row.querySelector('[data-field="backlog"]').textContent = f.backlog;
      row.querySelector('[data-field="received"]').textContent = f.received;
      row.querySelector('[data-field="delivered"]').textContent = f.delivered;
      const points = (history[row.dataset.flow] = history[row.dataset.flow] || []);
      points.push(f.in || 0);
      if (points.length > 60) points.shift();
      const top = Math.max(1, ...points);
      const line = points.map((v, i) => `${(i * 120) / 59},${23 - (v / top) * 22}`).join(" ");
      row.querySelector("[data-spark] polyline").setAttribute("points", line);
    });
    const set = (name, value) => { const el = document.querySelector(`[data-total="${name}"]`); if (el) el.textContent = value; };
    set("in", show(totalIn)); set("out", show(totalOut)); set("backlog", backlog);
    if (status) status.classList.add("on");
    if (at) at.textContent = data.at;
  };
  source.onerror = () => { if (status) status.classList.remove("on"); if (at) at.textContent = "reconnecting…"; };
}

function selectAll() {
  document.querySelectorAll("[data-select-all]").forEach((box) => {
    box.addEventListener("change", () => {
      document.querySelectorAll(`input[name="ids"][data-owner="${box.dataset.selectAll}"]:not(:disabled)`)
        .forEach((one) => { one.checked = box.checked; });
    });
  });
}

function confirmations() {
  document.querySelectorAll("[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
}

document.addEventListener("DOMContentLoaded", () => { live(); selectAll(); confirmations(); });
