//! `GET /`: a page that lists what the emulator did, live: each
//! transaction, its scenario and every delivery with the receiver's answer
//! and whether it was the answer Daraja expects. It reads
//! `/emulator/transactions` every second; everything shown is set as text,
//! never as markup, since receivers' answers are arbitrary.

/// The page.
pub(crate) const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>pesakit · Daraja emulator</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 2rem; color: #1d1d1f; }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: .35rem .6rem; border-bottom: 1px solid #ddd; vertical-align: top; }
  th { background: #f4f4f5; }
  .ok { color: #137333; } .bad { color: #b3261e; } .muted { color: #6b6b6b; }
  code { font-size: 12px; }
</style>
</head>
<body>
<h1>Daraja emulator</h1>
<p class="muted">Every request this emulator accepted, what it played, and each callback it delivered. Refreshes every second.</p>
<table>
  <thead><tr><th>API</th><th>ID</th><th>Scenario</th><th>Result</th><th>Deliveries</th></tr></thead>
  <tbody id="transactions"><tr><td colspan="5" class="muted">Nothing yet.</td></tr></tbody>
</table>
<script>
function cell(row, text, className) {
  const td = document.createElement("td");
  td.textContent = text;
  if (className) td.className = className;
  row.appendChild(td);
  return td;
}
async function refresh() {
  try {
    const answer = await fetch("/emulator/transactions");
    const { transactions } = await answer.json();
    const body = document.getElementById("transactions");
    body.replaceChildren();
    for (const transaction of transactions.slice().reverse()) {
      const row = document.createElement("tr");
      row.className = "transaction";
      cell(row, transaction.api);
      cell(row, transaction.id);
      cell(row, transaction.scenario);
      cell(row, transaction.state === "done" ? `${transaction.result_code} ${transaction.result_desc}` : "pending", "muted");
      const deliveries = cell(row, "");
      for (const delivery of transaction.deliveries) {
        const line = document.createElement("div");
        line.className = delivery.acknowledged ? "delivery ok" : "delivery bad";
        const verdict = delivery.acknowledged ? "right answer" : "not the answer Daraja expects";
        line.textContent = `${delivery.url} → ${delivery.status ?? "unreachable"} in ${delivery.latency_ms} ms (${verdict}): ${delivery.answer}`;
        deliveries.appendChild(line);
      }
      body.appendChild(row);
    }
    if (!transactions.length) {
      const row = document.createElement("tr");
      cell(row, "Nothing yet.", "muted").colSpan = 5;
      body.appendChild(row);
    }
  } catch (error) {
    document.title = "pesakit · Daraja emulator (not reachable)";
  }
}
refresh();
setInterval(refresh, 1000);
</script>
</body>
</html>
"#;
