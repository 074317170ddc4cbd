// Starts Swagger UI (swagger-ui-bundle.js, loaded just before this file) on this API's OpenAPI
// document. A file, not an inline script: the Content-Security-Policy allows scripts from
// 'self' only. validatorUrl: null keeps Swagger UI from sending the document to its public
// validator for a badge.
const root = document.getElementById("swagger-ui");
window.ui = SwaggerUIBundle({
  url: root.dataset.openapiUrl,
  dom_id: "#swagger-ui",
  validatorUrl: null,
  deepLinking: true,
  displayRequestDuration: true,
  presets: [SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
