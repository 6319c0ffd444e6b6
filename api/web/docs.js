// Renders the OpenAPI schema served by this same server: no external script or style.
"use strict";

function el(tag, text, className) {
  const node = document.createElement(tag);
  if (text !== undefined) node.textContent = text;
  if (className) node.className = className;
  return node;
}

function schemaName(schema) {
  if (!schema) return "";
  if (schema.$ref) return schema.$ref.split("/").pop();
  if (schema.anyOf) return schema.anyOf.map(schemaName).join(" | ");
  if (schema.type === "array") return schemaName(schema.items) + "[]";
  return schema.type || "";
}

function renderOperation(path, method, op) {
  const section = el("section", undefined, "api-op");
  const title = el("h3");
  title.append(el("span", method.toUpperCase(), "api-method"), " ", el("code", path));
  section.append(title);
  if (op.summary) section.append(el("p", op.summary));
  const params = op.parameters || [];
  if (params.length) {
    const table = el("table");
    const head = el("tr");
    ["Tham số", "Ở đâu", "Kiểu", "Bắt buộc", "Mô tả"].forEach((h) => head.append(el("th", h)));
    table.append(head);
    params.forEach((p) => {
      const row = el("tr");
      row.append(el("td", p.name), el("td", p.in), el("td", schemaName(p.schema)),
        el("td", p.required ? "có" : "không"), el("td", p.description || ""));
      table.append(row);
    });
    section.append(table);
  }
  const body = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
  if (body) section.append(el("p", "Nội dung gửi (JSON): " + schemaName(body.schema)));
  const codes = Object.keys(op.responses || {}).join(", ");
  if (codes) section.append(el("p", "Mã trả về: " + codes));
  return section;
}

async function main() {
  const target = document.getElementById("operations");
  try {
    const response = await fetch("/api/v1/openapi.json");
    const schema = await response.json();
    target.textContent = "";
    Object.entries(schema.paths).forEach(([path, item]) => {
      Object.entries(item).forEach(([method, op]) => target.append(renderOperation(path, method, op)));
    });
  } catch (error) {
    target.textContent = "Không tải được lược đồ OpenAPI: " + error;
  }
}

main();
