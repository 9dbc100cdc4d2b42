// gtmkit step list: providers in waterfall order. Drag a row (or use its arrows) to reorder,
// tick it to use it. The list itself is the synced `items` state; Python builds the
// waterfall from it, so a reload shows the order the kernel has.

function render({ model, el }) {
  const list = document.createElement("ol");
  list.className = "gtmkit-steps";
  el.appendChild(list);

  function commit(items) {
    model.set("items", items);
    model.save_changes();
  }
  function move(from, to) {
    const items = model.get("items").map((item) => ({ ...item }));
    if (to < 0 || to >= items.length || from === to) return;
    const [item] = items.splice(from, 1);
    items.splice(to, 0, item);
    commit(items);
  }

  let dragged = null;
  function draw() {
    list.replaceChildren();
    const items = model.get("items");
    let rank = 0;
    items.forEach((item, index) => {
      const row = document.createElement("li");
      row.className = "gtmkit-step";
      row.draggable = true;
      row.dataset.provider = item.name;
      row.dataset.enabled = String(item.enabled);

      const handle = document.createElement("span");
      handle.className = "gtmkit-step-handle";
      handle.textContent = "⠿";
      handle.title = "drag to reorder";

      const box = document.createElement("input");
      box.type = "checkbox";
      box.checked = item.enabled;
      box.className = "gtmkit-step-use";
      box.title = "use this provider";
      box.addEventListener("change", () => {
        const next = model.get("items").map((it) => ({ ...it }));
        next[index].enabled = box.checked;
        commit(next);
      });

      const name = document.createElement("span");
      name.className = "gtmkit-step-name";
      if (item.enabled) rank += 1;
      name.textContent = item.enabled ? `${rank}. ${item.label}` : item.label;

      const billing = document.createElement("span");
      billing.className = "gtmkit-step-billing";
      billing.textContent = item.billing;

      const moves = document.createElement("span");
      moves.className = "gtmkit-step-moves";
      for (const [text, delta, title] of [["↑", -1, "move up"], ["↓", 1, "move down"]]) {
        const button = document.createElement("button");
        button.textContent = text;
        button.title = title;
        button.className = delta < 0 ? "gtmkit-step-up" : "gtmkit-step-down";
        button.addEventListener("click", () => move(index, index + delta));
        moves.appendChild(button);
      }
      row.append(handle, box, name, billing, moves);

      row.addEventListener("dragstart", (event) => {
        dragged = index;
        row.classList.add("gtmkit-dragging");
        event.dataTransfer.effectAllowed = "move";
        event.dataTransfer.setData("text/plain", item.name);
      });
      row.addEventListener("dragend", () => row.classList.remove("gtmkit-dragging"));
      row.addEventListener("dragover", (event) => {
        event.preventDefault();
        event.dataTransfer.dropEffect = "move";
      });
      row.addEventListener("drop", (event) => {
        event.preventDefault();
        if (dragged !== null) move(dragged, index);
        dragged = null;
      });
      list.appendChild(row);
    });
  }
  model.on("change:items", draw);
  draw();
}

export default { render };
