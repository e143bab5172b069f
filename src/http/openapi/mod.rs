//! The OpenAPI 3 document, generated from the handlers' annotations and served at
//! `/api/schema/` (Swagger UI at `/api/docs/`). Two passes make it say what the shared layers
//! enforce, whatever a handler declares: `CommonResponses` adds the statuses every route can
//! answer, and `without_nul` states that no request string (nor field name) may hold a NUL
//! character, which `http::nul` refuses at the edge.

use std::sync::LazyLock;

use serde_json::{Value, json};

mod rules;

use utoipa::{
    Modify, OpenApi,
    openapi::{
        ArrayBuilder, ContentBuilder, ObjectBuilder, OneOfBuilder, Ref, RefOr, Response, ResponseBuilder, Schema, Type,
        path::Operation,
        schema,
        security::{Http, HttpAuthScheme, SecurityScheme},
    },
};

use crate::{access, accounts, appointments, audit, hospitals, medicines, ops, records};

/// The document's frame; each context's `routes::Api` adds its paths (see [`document`]).
#[derive(OpenApi)]
#[openapi(
    info(title = "CareHub API", version = "1.0.0", description = "Multi-tenant healthcare booking and records API"),
    tags(
        (name = "auth", description = "Login, token rotation, logout"),
        (name = "accounts", description = "Users, registration, passwords"),
        (name = "hospitals", description = "Registration, approval, directory, nearby search"),
        (name = "departments", description = "A hospital's departments"),
        (name = "doctors", description = "A hospital's doctors"),
        (name = "appointments", description = "Booking, assignment, status"),
        (name = "audit", description = "The audit trail"),
        (name = "medicines", description = "The formulary"),
        (name = "recommendations", description = "Medicine recommendations grounded in the formulary"),
        (name = "access", description = "One-time codes and the access grants they give to a patient's records"),
        (name = "records", description = "Prescriptions (versioned); reports and prescription attachments: uploads, virus scans, downloads"),
        (name = "ops", description = "Health, readiness, metrics"),
    )
)]
pub struct ApiDoc;

/// Declares the `jwtAuth` bearer scheme the operations refer to (the reference's name).
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let mut scheme = Http::new(HttpAuthScheme::Bearer);
        scheme.bearer_format = Some("JWT".into());
        components.add_security_scheme("jwtAuth", SecurityScheme::Http(scheme));
    }
}

/// Declares on every operation the answers the shared layers give, whatever the handler: 401 and
/// 403 where a token is needed (403 also for a generated password that must be changed), 401
/// where an optional token is sent bad, 404 where the path names an object, 400 where there is a
/// body or query to refuse (a NUL character in any field, for one), 413 and 415 for bodies. So a
/// new route cannot forget them, and the document says every status the server can answer.
struct CommonResponses;

impl CommonResponses {
    fn error(description: &str) -> RefOr<Response> {
        RefOr::T(
            ResponseBuilder::new()
                .description(description)
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build(),
                )
                .build(),
        )
    }

    fn validation() -> RefOr<Response> {
        let message = ObjectBuilder::new().schema_type(Type::String);
        let messages = ArrayBuilder::new().items(ObjectBuilder::new().schema_type(Type::String));
        let lists = ObjectBuilder::new()
            .additional_properties(Some(schema::AdditionalProperties::RefOr(RefOr::T(Schema::OneOf(
                OneOfBuilder::new().item(message).item(messages).build(),
            )))))
            .description(Some(
                "Messages by field name (`non_field_errors` for the rest), or `detail` and `code` for a body \
                 that could not be read at all",
            ));
        RefOr::T(
            ResponseBuilder::new()
                .description("Invalid input")
                .content("application/json", ContentBuilder::new().schema(Some(lists)).build())
                .build(),
        )
    }
}

/// `None`: public; `Some(true)`: a token is required; `Some(false)`: a token is optional.
fn token_rule(operation: &Operation) -> Option<bool> {
    let requirements = operation.security.as_ref().filter(|reqs| !reqs.is_empty())?;
    let optional = requirements
        .iter()
        .any(|req| serde_json::to_value(req).is_ok_and(|v| v.as_object().is_some_and(serde_json::Map::is_empty)));
    Some(!optional)
}

impl Modify for CommonResponses {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut openapi.paths.paths {
            let names_object = path.contains('{');
            let operations = [&mut item.get, &mut item.put, &mut item.post, &mut item.delete, &mut item.patch];
            for operation in operations.into_iter().flatten() {
                let has_body = operation.request_body.is_some();
                let has_input = has_body || operation.parameters.as_ref().is_some_and(|p| !p.is_empty());
                let token = token_rule(operation);
                let responses = &mut operation.responses.responses;
                let mut declare = |status: &str, response: fn() -> RefOr<Response>| {
                    responses.entry(status.to_owned()).or_insert_with(response);
                };
                match token {
                    Some(true) => {
                        declare("401", || {
                            Self::error("No token, or a token not valid (`not_authenticated`, `token_not_valid`)")
                        });
                        declare("403", || {
                            Self::error(
                                "Not allowed for this account (`permission_denied`, `password_change_required`)",
                            )
                        });
                    }
                    Some(false) => declare("401", || Self::error("A token was sent and is not valid")),
                    None => {}
                }
                if names_object {
                    declare("404", || Self::error("No such object, or another tenant's"));
                }
                if has_input || names_object {
                    declare("400", Self::validation);
                }
                if has_body {
                    declare("413", || Self::error("The body is too large"));
                    declare("415", || Self::error("The body is neither JSON nor a form"));
                }
            }
        }
    }
}

/// Each context's part of the document, in the order they are merged.
fn parts() -> [utoipa::openapi::OpenApi; 8] {
    [
        accounts::routes::Api::openapi(),
        access::routes::Api::openapi(),
        audit::routes::Api::openapi(),
        medicines::routes::Api::openapi(),
        hospitals::routes::Api::openapi(),
        appointments::routes::Api::openapi(),
        records::routes::Api::openapi(),
        ops::routes::Api::openapi(),
    ]
}

/// The served document, built once.
pub fn document() -> &'static Value {
    static DOCUMENT: LazyLock<Value> = LazyLock::new(|| {
        let mut api = ApiDoc::openapi();
        for part in parts() {
            api.merge(part);
        }
        BearerAuth.modify(&mut api);
        CommonResponses.modify(&mut api);
        let mut document = serde_json::to_value(api).unwrap_or_else(|_| json!({}));
        rules::without_nul(&mut document);
        rules::invalid_pages(&mut document);
        document
    });
    &DOCUMENT
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// Merging keeps the first schema of a name: two contexts that give one name to different
    /// shapes would have one of them described by the other's schema.
    #[test]
    fn no_two_contexts_give_one_schema_name_to_different_shapes() {
        let mut seen: BTreeMap<String, Value> = BTreeMap::new();
        let mut clashes = Vec::new();
        for part in parts() {
            let schemas = part.components.map(|c| c.schemas).unwrap_or_default();
            for (name, schema) in schemas {
                let schema = serde_json::to_value(schema).unwrap_or_default();
                match seen.get(&name) {
                    Some(earlier) if *earlier != schema => clashes.push(name),
                    Some(_) => {}
                    None => {
                        seen.insert(name, schema);
                    }
                }
            }
        }
        assert!(clashes.is_empty(), "schema names given to different shapes: {clashes:?}");
    }
}
