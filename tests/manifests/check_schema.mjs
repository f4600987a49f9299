// SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
// Validates Kubernetes objects against the current Kubernetes OpenAPI schemas
// offline, with the npm package kubernetes-models (types, enums, formats,
// required fields), @kubernetes-models/prometheus-operator for the
// ServiceMonitor, PodMonitor and PrometheusRule, @kubernetes-models/cert-manager
// for the Issuers and Certificates. It does not reject unknown fields: check_k8s.py models does.
//
//   check_k8s.py json FILE... | node check_schema.mjs
//
// Input: a JSON array of {file, doc}. Output: one line per problem,
// "file: Kind/name: /json/path: message"; exit 1 if any, 0 otherwise.
import { readFileSync } from "node:fs";

// apiVersion -> module folder. Core ("v1") objects live in kubernetes-models/v1.
function modulePath(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  if (group === "monitoring.coreos.com")
    return `@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`;
  if (group === "cert-manager.io")
    return `@kubernetes-models/cert-manager/${group}/${version}/${kind}`;
  return group ? `kubernetes-models/${group}/${version}/${kind}` : `kubernetes-models/${version}/${kind}`;
}

const objs = JSON.parse(readFileSync(0, "utf8"));
let problems = 0;
let checked = 0;
for (const { file, doc } of objs) {
  const meta = doc.metadata || {};
  const where = `${file}: ${doc.kind}/${meta.name || meta.generateName || "?"}`;
  let Model;
  try {
    const mod = await import(modulePath(doc.apiVersion, doc.kind));
    Model = mod[doc.kind] || mod.default;
  } catch {
    Model = undefined;
  }
  if (!Model) {
    console.log(`${where}: no schema for ${doc.apiVersion} ${doc.kind}`);
    problems++;
    continue;
  }
  try {
    new Model(doc).validate();
  } catch (e) {
    const errs = e.errors || e.details || [{ instancePath: "", message: e.message }];
    for (const err of errs) {
      const extra = err.params && err.params.allowedValues ? ` (${err.params.allowedValues.join(", ")})` : "";
      console.log(`${where}: ${err.instancePath || "/"}: ${err.message}${extra}`);
      problems++;
    }
  }
  checked++;
}
console.log(`schema: ${checked} objects validated against kubernetes-models`);
process.exit(problems ? 1 : 0);
