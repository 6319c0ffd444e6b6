// The API documentation: Swagger UI (served from the installed package) over this server's schema.
"use strict";

document.addEventListener("DOMContentLoaded", () => {
  if (!window.SwaggerUIBundle) {
    document.getElementById("swagger-ui").textContent = "Không tải được Swagger UI; lược đồ API "
      + "vẫn có tại /api/v1/openapi.json.";
    return;
  }
  window.SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    presets: [window.SwaggerUIBundle.presets.apis],
    layout: "BaseLayout",
    deepLinking: true,
    docExpansion: "list",
    filter: true,
    validatorUrl: null,
    // Requests from this page carry the dashboard's session cookie; writes need its CSRF header.
    withCredentials: true,
  });
});
