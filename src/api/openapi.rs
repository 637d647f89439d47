//! The OpenAPI 3.1 description, built from the same request types the
//! handlers deserialise (their field lists are written out here once).

use serde_json::{Value, json};

use crate::protocol::event::EventType;

fn problem() -> Value {
    json!({"description": "Error", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}})
}

pub fn document() -> Value {
    let types: Vec<&str> = EventType::ALL.iter().map(|t| t.as_str()).collect();
    let auth = json!([{"apiKey": []}]);
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Proofdesk", "version": env!("CARGO_PKG_VERSION"),
                 "description": "Tamper-evident support-ticket logs anchored on an EVM chain. Protocol: docs/PROTOCOL.md."},
        "components": {
            "securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer", "description": "pdk_… API key with scope ingest, audit or admin"}},
            "schemas": {
                "Problem": {"type": "object", "properties": {"type": {"type": "string"}, "title": {"type": "string"}, "status": {"type": "integer"}, "detail": {"type": "string"}, "item": {"type": "integer"}}},
                "Event": {"type": "object", "additionalProperties": false, "required": ["type", "data", "actor", "channel", "occurred_at"], "properties": {
                    "type": {"type": "string", "enum": types},
                    "data": {"type": "object", "description": "The type's public fields (docs/PROTOCOL.md §4)"},
                    "actor": {"type": "object", "additionalProperties": false, "required": ["role", "ref"], "properties": {
                        "role": {"enum": ["customer", "agent", "system", "bot", "integration"]}, "ref": {"type": "string", "description": "pseudonymous id; never an e-mail or a name"}}},
                    "channel": {"enum": ["email", "web", "chat", "phone", "sms", "social", "api"]},
                    "occurred_at": {"type": "string", "format": "date-time"},
                    "content": {"oneOf": [{"type": "object", "required": ["text"], "properties": {"text": {"type": "string"}}},
                                           {"type": "object", "required": ["commitment"], "properties": {"commitment": {"type": "string", "pattern": "^0x[0-9a-f]{64}$"}}}]}}},
                "Receipt": {"type": "object", "properties": {"receipt": {"type": "object"}, "signature": {"type": "string"}}}
            }
        },
        "paths": {
            "/v1/tickets": {"post": {"summary": "Create a ticket (idempotent by external_id); returns its public handle", "security": auth,
                "requestBody": {"content": {"application/json": {"schema": {"type": "object", "additionalProperties": false, "required": ["external_id"], "properties": {"external_id": {"type": "string"}}}}}},
                "responses": {"201": {"description": "Created"}, "200": {"description": "Already existed"}, "default": problem()}}},
            "/v1/tickets/{handle}/events": {"post": {"summary": "Append one event; returns a signed receipt. Honours Idempotency-Key.", "security": auth,
                "requestBody": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Event"}}}},
                "responses": {"201": {"description": "Appended", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Receipt"}}}}, "200": {"description": "Replay of an earlier request with the same Idempotency-Key"}, "409": problem(), "422": problem()}}},
            "/v1/events/bulk": {"post": {"summary": "Append up to 10,000 events atomically: all are written or none (the problem names the failing item)", "security": auth,
                "responses": {"201": {"description": "Appended"}, "default": problem()}}},
            "/v1/tickets/{handle}": {"get": {"summary": "A ticket with its state and records (scope ingest or audit)", "security": auth, "responses": {"200": {"description": "Ticket"}, "default": problem()}}},
            "/v1/tickets/{handle}/proof": {"get": {"summary": "Public proof bundle (docs/PROTOCOL.md §13)", "responses": {"200": {"description": "Bundle"}, "404": problem()}}},
            "/v1/log": {"get": {"summary": "Public log info: chain, contract, anchorer, size, latest anchored batch, maximum merge delay", "responses": {"200": {"description": "Log info"}}}},
            "/v1/batches": {"get": {"summary": "Public batch list (?from=&limit=)", "responses": {"200": {"description": "Batches"}}}},
            "/v1/batches/{id}": {"get": {"summary": "Public batch detail with its anchoring state", "responses": {"200": {"description": "Batch"}, "404": problem()}}},
            "/healthz": {"get": {"summary": "Liveness", "responses": {"200": {"description": "ok"}}}},
            "/readyz": {"get": {"summary": "Readiness: database and chain reachable", "responses": {"200": {"description": "ready"}, "503": problem()}}},
            "/metrics": {"get": {"summary": "Prometheus metrics", "responses": {"200": {"description": "text exposition"}}}}
        }
    })
}
