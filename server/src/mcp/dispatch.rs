//! One request by its method: forwarded to the backend its name or URI routes to, answered from
//! every backend (lists), or held for a person (tool calls a rule marks risky).

use super::*;

/// Runs a request (anything but `initialize`) and returns the response message for the client.
pub(super) async fn run_request(state: &AppState, session: &Arc<Session>, mut msg: Value, related: &Sink, started: Instant, trace_headers: &HeaderMap) -> Value {
    let method = jsonrpc::method(&msg).to_string();
    let rt = state.runtime.load_full();
    let mut rec = McpRecord::begin(state, session, &msg, trace_headers, None);
    let outcome = match guarded::check_request(state, session, &mut msg, &mut rec).await {
        Ok(()) => route_request(state, session, msg, related, &method, &rt, &mut rec).await,
        Err(e) => Err(e),
    };
    let outcome = match outcome {
        Ok(answer) => guarded::check_answer(state, session, &method, answer, &mut rec).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(answer) => {
            rec.finish_ok(state, &answer, started);
            answer
        }
        Err(McpError { status, error_type, answer }) => {
            rec.finish_error(state, status, error_type, &answer, started);
            answer
        }
    }
}

/// A request by its method, to its answer.
async fn route_request(state: &AppState, session: &Arc<Session>, msg: Value, related: &Sink, method: &str, rt: &crate::state::Runtime, rec: &mut McpRecord) -> Outcome {
    let id = jsonrpc::id(&msg);
    match method {
        "ping" => Ok(jsonrpc::result(id.clone(), json!({}))),
        "tools/list" | "prompts/list" | "resources/list" | "resources/templates/list" => list(state, session, &msg, &rt.config.mcp, rec).await,
        "tools/call" => call_tool(state, session, msg, related, &rt.config.mcp, rec).await,
        "prompts/get" => forward_named(state, session, msg, related, "/params/name", Check::Use, rec).await,
        "resources/read" | "resources/subscribe" => forward_uri(state, session, msg, related, "/params/uri", Check::Use, rec).await,
        // Ending a subscription needs no rule: it only stops what was allowed when it began.
        "resources/unsubscribe" => forward_uri(state, session, msg, related, "/params/uri", Check::None, rec).await,
        // A completion follows the rule of the prompt or template it completes an argument of.
        "completion/complete" => match msg.pointer("/params/ref/type").and_then(Value::as_str) {
            Some("ref/resource") => forward_uri(state, session, msg, related, "/params/ref/uri", Check::Complete, rec).await,
            Some("ref/prompt") => forward_named(state, session, msg, related, "/params/ref/name", Check::Complete, rec).await,
            _ => Err(McpError::new(200, "invalid_params", jsonrpc::error(id.clone(), jsonrpc::INVALID_PARAMS, "completion/complete needs a ref of type ref/prompt or ref/resource"))),
        },
        "logging/setLevel" => set_level(state, session, msg, related).await,
        _ => match &session.scope {
            // On one server's endpoint any other method is that server's business, once a rule
            // allows it (by its `server__method` name).
            Some(server) => {
                let server = server.clone();
                let full = names::prefixed(&server, method);
                match authorize(&rt.config.mcp, session, policy::Target::Method(&full), &Value::Null, Check::Use, &id, rec) {
                    Ok(()) => forward(state, session, &server, msg, related, rec).await,
                    Err(e) => Err(e),
                }
            }
            None => Err(McpError::new(200, "method_not_found", jsonrpc::error(id.clone(), jsonrpc::METHOD_NOT_FOUND, format!("method `{method}` is not supported on the aggregate endpoint")))),
        },
    }
}

pub(super) type Outcome = Result<Value, McpError>;

pub(super) fn backend_failure(id: Value, e: &BackendError) -> McpError {
    let ty = match e {
        BackendError::Timeout(_) => "backend_timeout",
        BackendError::TooLarge(..) => "backend_message_too_large",
        _ => "backend_unavailable",
    };
    McpError::new(502, ty, jsonrpc::error(id, jsonrpc::BACKEND_UNAVAILABLE, e.to_string()))
}

/// Sends `msg` to `server` and returns its response with the client's id. A request the client
/// cancels stops waiting (the backend was told by then).
pub(super) async fn forward(state: &AppState, session: &Arc<Session>, server: &str, mut msg: Value, related: &Sink, rec: &mut McpRecord) -> Outcome {
    let id = jsonrpc::id(&msg);
    rec.propagate(&mut msg);
    session.streams_open().await;
    let link = state.mcp.link(session, server).await.map_err(|e| backend_failure(id.clone(), &e))?;
    rec.set_backend(server, link.backend_session());
    let (cancel, tracked_here) = session.route_request(&id, server);
    let res = tokio::select! {
        r = link.request_resumable(msg, related, session.client_back(&id)) => Some(r),
        () = cancel.cancelled() => None,
    };
    if tracked_here {
        session.end_request(&id);
    }
    // The backend session that answered: a new one when the link had to initialise again
    // (then recorded for the other replicas).
    rec.set_backend(server, link.backend_session());
    state.mcp.publish_backend(session, server, &link).await;
    let Some(res) = res else {
        return Err(McpError::new(499, "cancelled", jsonrpc::error(id, jsonrpc::REQUEST_CANCELLED, "cancelled by the client")));
    };
    let mut answer = res.map_err(|e| backend_failure(id.clone(), &e))?;
    answer["id"] = id;
    if jsonrpc::error_of(&answer).is_some() {
        return Err(McpError::new(200, "backend_error", answer));
    }
    Ok(answer)
}

pub(super) async fn forward_named(state: &AppState, session: &Arc<Session>, mut msg: Value, related: &Sink, pointer: &str, check: Check, rec: &mut McpRecord) -> Outcome {
    let id = jsonrpc::id(&msg);
    let name = msg.pointer(pointer).and_then(Value::as_str).unwrap_or("").to_string();
    let Some((server, inner)) = resolve(session, &name, false).filter(|(s, inner)| state.mcp.knows(s) && !inner.is_empty()) else {
        return Err(McpError::new(200, "unknown_name", jsonrpc::error(id, jsonrpc::INVALID_PARAMS, format!("unknown name `{}`", crate::audit::clip(&name)))));
    };
    let inner = inner.to_string();
    let full = names::prefixed(&server, &inner);
    let args = msg.pointer("/params/arguments").cloned().unwrap_or_else(|| json!({}));
    authorize(&state.runtime.load().config.mcp, session, policy::Target::Prompt(&full), &args, check, &id, rec)?;
    if let Some(v) = msg.pointer_mut(pointer) {
        *v = json!(inner);
    }
    forward(state, session, &server, msg, related, rec).await
}

pub(super) async fn forward_uri(state: &AppState, session: &Arc<Session>, mut msg: Value, related: &Sink, pointer: &str, check: Check, rec: &mut McpRecord) -> Outcome {
    let id = jsonrpc::id(&msg);
    let uri = msg.pointer(pointer).and_then(Value::as_str).unwrap_or("").to_string();
    let Some((server, inner)) = resolve(session, &uri, true).filter(|(s, inner)| state.mcp.knows(s) && !inner.is_empty()) else {
        return Err(McpError::new(200, "unknown_resource", jsonrpc::error(id, jsonrpc::INVALID_PARAMS, format!("unknown resource `{}`", crate::audit::clip(&uri)))));
    };
    let inner = inner.to_string();
    let cfg = &state.runtime.load().config.mcp;
    if check != Check::None && !cfg.rules.is_empty() {
        // Decided on what the URI means once escapes and dot segments are resolved; the
        // backend gets it as the client wrote it.
        let template = check == Check::Complete;
        let named = if template { Some(names::prefixed_uri(&server, &inner)) } else { rule_uri(&server, &inner) };
        let Some(named) = named else {
            let reason = format!("denied by policy: the URI `{}` cannot be read as a path (an escape or `..` that leaves its root)", crate::audit::clip(&uri));
            rec.set_decision(&Decision::Deny { rule: None, reason: reason.clone() });
            return Err(denied_by_policy(id, None, reason));
        };
        let target = if template { policy::Target::Template(&named) } else { policy::Target::Resource(&named) };
        authorize(cfg, session, target, &Value::Null, check, &id, rec)?;
    }
    if let Some(v) = msg.pointer_mut(pointer) {
        *v = json!(inner);
    }
    let mut answer = forward(state, session, &server, msg, related, rec).await?;
    if session.scope.is_none() {
        if let Some(r) = answer.get_mut("result") {
            names::prefix_uris(&server, r);
        }
    }
    Ok(answer)
}

/// `logging/setLevel` goes to every backend of the session.
pub(super) async fn set_level(state: &AppState, session: &Arc<Session>, msg: Value, related: &Sink) -> Outcome {
    let id = jsonrpc::id(&msg);
    for server in state.mcp.servers_of(session) {
        if let Ok(link) = state.mcp.link(session, &server).await {
            let mut m = msg.clone();
            m["id"] = json!(format!("weir-level-{}", uuid::Uuid::new_v4().simple()));
            if let Err(e) = link.request(m, related).await {
                tracing::debug!(server, error = %e, "logging/setLevel not delivered");
            }
            state.mcp.publish_backend(session, &server, &link).await;
        }
    }
    Ok(jsonrpc::result(id, json!({})))
}

/// A list method. On the aggregate, every backend's page in one answer (names prefixed, tools
/// filtered by policy), fetched in parallel; the cursor carries the backends that have more, so
/// a client that never pages still sees every backend's first page. On one server's endpoint,
/// that server's page and cursor as they are, tools filtered by policy.
pub(super) async fn list(state: &AppState, session: &Arc<Session>, msg: &Value, cfg: &McpConfig, rec: &mut McpRecord) -> Outcome {
    let id = jsonrpc::id(msg);
    let method = jsonrpc::method(msg).to_string();
    let field = match method.as_str() {
        "tools/list" => "tools",
        "prompts/list" => "prompts",
        "resources/list" => "resources",
        _ => "resourceTemplates",
    };
    let servers = state.mcp.servers_of(session);
    let cursor = msg.pointer("/params/cursor").and_then(Value::as_str);
    let targets: Vec<(usize, Option<String>)> = match (cursor, &session.scope) {
        (None, _) => (0..servers.len()).map(|i| (i, None)).collect(),
        (Some(c), Some(_)) => vec![(0, Some(c.to_string()))],
        (Some(c), None) => match names::decode_cursor(c) {
            Some(pending) if pending.iter().all(|(i, _)| *i < servers.len()) => pending.into_iter().map(|(i, c)| (i, Some(c))).collect(),
            _ => return Err(McpError::new(200, "invalid_cursor", jsonrpc::error(id, jsonrpc::INVALID_PARAMS, "invalid cursor"))),
        },
    };
    let pages = futures_util::future::join_all(targets.iter().map(|(i, inner)| list_page(state, session, &servers[*i], &method, inner.as_deref(), true))).await;
    let mut items = Vec::new();
    let mut pending = Vec::new();
    // How long the merged page may be kept, and by whom.
    let mut hints = listcache::Hints::default();
    for ((index, _), page) in targets.iter().zip(pages) {
        let server = &servers[*index];
        let result = match page {
            Ok((result, backend_session)) => {
                rec.set_backend(server, backend_session);
                result
            }
            // One server's endpoint says what went wrong; the aggregate leaves that backend out.
            Err(PageError::Refused(mut ans)) if session.scope.is_some() => {
                ans["id"] = id;
                return Err(McpError::new(200, "backend_error", ans));
            }
            Err(PageError::Unavailable(e)) if session.scope.is_some() => return Err(backend_failure(id, &e)),
            Err(PageError::Refused(_)) => {
                tracing::debug!(server, method, "backend refused a list; left out");
                continue;
            }
            Err(PageError::Unavailable(e)) => {
                tracing::warn!(server, error = %e, "MCP backend unavailable; its {field} are left out");
                continue;
            }
        };
        hints.add(&result);
        let mut page_items: Vec<Value> = result.get(field).and_then(Value::as_array).cloned().unwrap_or_default();
        if field == "tools" {
            // Every definition is learned (scanned, pinned) whoever asks; what the server's
            // action withholds is left out.
            let listed = state.mcp.tools.learn(server, cfg.suspicious_tools(server), &page_items).await;
            let mut listed = listed.into_iter();
            page_items.retain(|_| listed.next().unwrap_or(false));
        }
        if !cfg.rules.is_empty() {
            // Only what the agent may use is listed.
            let (agent, user) = (&session.principal.agent_name, session.principal.end_user.as_deref());
            page_items.retain(|item| {
                let text = |k: &str| item.get(k).and_then(Value::as_str).unwrap_or("");
                match field {
                    "tools" => policy::may_see(&cfg.rules, policy::Target::Tool(&names::prefixed(server, text("name"))), agent, user),
                    "prompts" => policy::may_see(&cfg.rules, policy::Target::Prompt(&names::prefixed(server, text("name"))), agent, user),
                    "resources" => rule_uri(server, text("uri")).is_some_and(|u| policy::may_see(&cfg.rules, policy::Target::Resource(&u), agent, user)),
                    _ => policy::may_see(&cfg.rules, policy::Target::Template(&names::prefixed_uri(server, text("uriTemplate"))), agent, user),
                }
            });
        }
        if session.scope.is_none() {
            for it in &mut page_items {
                if let Some(Value::String(n)) = it.get_mut("name") {
                    if field == "tools" || field == "prompts" {
                        *n = names::prefixed(server, n);
                    }
                }
                if field == "resources" || field == "resourceTemplates" {
                    names::prefix_uris(server, it);
                }
            }
        }
        if let Some(next) = result.get("nextCursor").and_then(Value::as_str) {
            pending.push((*index, next.to_string()));
        }
        items.extend(page_items);
    }
    let mut out = json!({ field: items });
    if session.protocol_version == stateless::STATELESS {
        hints.write(&mut out);
    }
    match (&session.scope, pending.as_slice()) {
        (_, []) => {}
        (Some(_), [(_, next)]) => out["nextCursor"] = json!(next),
        _ => out["nextCursor"] = json!(names::encode_cursor(&pending)),
    }
    Ok(jsonrpc::result(id, out))
}

pub(super) enum PageError {
    /// The backend answered with a JSON-RPC error (the whole answer).
    Refused(Value),
    Unavailable(BackendError),
}

/// One backend's page of a list, and its backend session.
/// `kept`: a page the backend said may be kept is taken from what Weir kept (not when Weir
/// learns the tools it checks calls against: those are always the backend's own, now).
pub(super) async fn list_page(state: &AppState, session: &Arc<Session>, server: &str, method: &str, cursor: Option<&str>, kept: bool) -> Result<(Value, Option<String>), PageError> {
    if let Some(page) = state.mcp.lists.get(server, method, cursor, &session.id).filter(|_| kept) {
        return Ok((page, session.backend_record(server).and_then(|r| r.session)));
    }
    let mut req = jsonrpc::request(json!(format!("weir-list-{}", uuid::Uuid::new_v4().simple())), method, json!({}));
    if let Some(c) = cursor {
        req["params"]["cursor"] = json!(c);
    }
    let link = state.mcp.link(session, server).await.map_err(PageError::Unavailable)?;
    let (tx, _rx) = mpsc::channel(SINK_CAPACITY);
    let ans = link.request(req, &tx).await.map_err(PageError::Unavailable)?;
    state.mcp.publish_backend(session, server, &link).await;
    if jsonrpc::error_of(&ans).is_some() {
        return Err(PageError::Refused(ans));
    }
    let page = ans.get("result").cloned().unwrap_or_else(|| json!({}));
    state.mcp.lists.put(server, method, cursor, &session.id, &page);
    Ok((page, link.backend_session()))
}

/// `tools/call`: the tool must exist as the backend lists it, and policy must allow the call.
pub(super) async fn call_tool(state: &AppState, session: &Arc<Session>, mut msg: Value, related: &Sink, cfg: &McpConfig, rec: &mut McpRecord) -> Outcome {
    let id = jsonrpc::id(&msg);
    let name = msg.pointer("/params/name").and_then(Value::as_str).unwrap_or("").to_string();
    let unknown = |id: Value| McpError::new(200, "unknown_tool", jsonrpc::error(id, jsonrpc::INVALID_PARAMS, format!("unknown tool `{}`", crate::audit::clip(&name))));
    let Some((server, tool)) = resolve(session, &name, false).filter(|(s, tool)| state.mcp.knows(s) && !tool.is_empty()) else {
        return Err(unknown(id));
    };
    let tool = tool.to_string();
    let full = names::prefixed(&server, &tool);
    rec.set_tool(&server, &full);
    let args = msg.pointer("/params/arguments").cloned().unwrap_or_else(|| json!({}));
    let decision = policy::decide(&cfg.rules, policy::Target::Tool(&full), &session.principal.agent_name, session.principal.end_user.as_deref(), &args);
    rec.set_decision(&decision);
    let action = cfg.suspicious_tools(&server);
    match &decision {
        Decision::Deny { rule, reason } => return Err(denied_by_policy(id, *rule, reason.clone())),
        Decision::Allow { .. } | Decision::NeedsApproval { .. } => {}
    }
    // A tool whose definition is withheld is refused before anyone is asked to approve it.
    let mut verdict = state.mcp.tools.verdict(&server, &tool, action);
    if verdict == Verdict::Unknown {
        // Not seen listed yet: the server's tools are listed again (once, however many calls
        // ask at the same time), unless they were listed for an unknown name a moment ago.
        let mut last = state.mcp.relists.turn(&server).await;
        verdict = state.mcp.tools.verdict(&server, &tool, action);
        if verdict == Verdict::Unknown && !last.recent(cfg.unknown_tool_relist) {
            let listed = learn_tools(state, session, &server, action).await;
            last.note(listed);
            verdict = state.mcp.tools.verdict(&server, &tool, action);
        }
    }
    match verdict {
        Verdict::Allowed => {}
        Verdict::Withheld(why) => return Err(tool_withheld(id, &name, &why)),
        // Not among the backend's tools (or the backend cannot say): not callable here.
        Verdict::Unknown => return Err(unknown(id)),
    }
    if let Decision::NeedsApproval { rule } = decision {
        hold_for_approval(state, session, &msg, &server, &full, &args, rule, related, cfg, rec).await?;
        // The wait may have been long: the rules (a reload), the tool's definition and the
        // agent's key are what they are now, not what they were.
        let rt = state.runtime.load_full();
        let cfg = &rt.config.mcp;
        if let Decision::Deny { rule, reason } = policy::decide(&cfg.rules, policy::Target::Tool(&full), &session.principal.agent_name, session.principal.end_user.as_deref(), &args) {
            return Err(denied_by_policy(id, rule, reason));
        }
        if let Verdict::Withheld(why) = state.mcp.tools.verdict(&server, &tool, cfg.suspicious_tools(&server)) {
            return Err(tool_withheld(id, &name, &why));
        }
        if let Some(key_id) = &session.principal.key_id {
            if !state.keys.is_active(key_id) {
                return Err(McpError::new(401, "key_revoked", jsonrpc::error(id, jsonrpc::UNAUTHORIZED, "the agent's key was revoked while the call waited for approval")));
            }
        }
    }
    if let Some(v) = msg.pointer_mut("/params/name") {
        *v = json!(tool);
    }
    let mut answer = forward(state, session, &server, msg, related, rec).await?;
    if session.scope.is_none() {
        if let Some(r) = answer.get_mut("result") {
            names::prefix_uris(&server, r);
        }
    }
    if answer.pointer("/result/isError").and_then(Value::as_bool) == Some(true) {
        return Err(McpError::new(200, "tool_error", answer));
    }
    Ok(answer)
}

/// Learns every tool `server` lists (all pages), through this session's link: for a call to a
/// tool Weir has not seen listed yet. True when the whole list was read.
pub(super) async fn learn_tools(state: &AppState, session: &Arc<Session>, server: &str, action: SuspiciousTools) -> bool {
    let mut cursor: Option<String> = None;
    for _ in 0..100 {
        match list_page(state, session, server, "tools/list", cursor.as_deref(), false).await {
            Ok((result, _)) => {
                let tools: Vec<Value> = result.get("tools").and_then(Value::as_array).cloned().unwrap_or_default();
                state.mcp.tools.learn(server, action, &tools).await;
                match result.get("nextCursor").and_then(Value::as_str) {
                    Some(next) => cursor = Some(next.to_string()),
                    None => return true,
                }
            }
            Err(_) => {
                tracing::warn!(server, "cannot list the backend's tools to check the one called");
                return false;
            }
        }
    }
    false
}

/// Holds a call for a person's approval: recorded as pending, the client's answer turned into
/// an event stream kept open with keep-alives, until it is approved (`Ok`: the call goes on),
/// denied, expires, or the client cancels or goes away.
#[allow(clippy::too_many_arguments)]
pub(super) async fn hold_for_approval(
    state: &AppState,
    session: &Arc<Session>,
    msg: &Value,
    server: &str,
    full: &str,
    args: &Value,
    rule: usize,
    related: &Sink,
    cfg: &McpConfig,
    rec: &mut McpRecord,
) -> Result<(), McpError> {
    let id = jsonrpc::id(msg);
    let approval_id = uuid::Uuid::now_v7().to_string();
    // The answer becomes an event stream without sending anything.
    let _ = related.try_send(Box::new((Arc::from(server), Related::OpenStream)));
    if let Some(token) = msg.pointer("/params/_meta/progressToken") {
        let note = jsonrpc::notification(
            "notifications/progress",
            json!({"progressToken": token, "progress": 0, "message": format!("waiting for a person to approve this call (approval {approval_id})")}),
        );
        let _ = related.try_send(Box::new((Arc::from(server), Related::Message(note))));
    }
    let (cancel, gone) = session.request_tokens(&id);
    let new = NewApproval {
        id: &approval_id,
        expires_at: crate::store::now_ms() + i64::try_from(cfg.approval_timeout.as_millis()).unwrap_or(i64::MAX / 2),
        agent_id: Some(&session.principal.agent_id),
        agent_name: Some(&session.principal.agent_name),
        end_user: session.principal.end_user.as_deref(),
        // The agent session the call belongs to, as its own record names it.
        session_id: rec.session_id(),
        server,
        tool: full,
        arguments: args,
        rule: i64::try_from(rule).ok(),
    };
    tracing::info!(approval = %approval_id, tool = full, agent = %session.principal.agent_name, "MCP tool call held for approval");
    let waiting = Instant::now();
    let (held, settled_here) = state.mcp.approvals.hold(&state.store, &new, cfg.approval_timeout, &cancel, &gone).await;
    rec.set_approval_wait(waiting.elapsed());
    let data = |row: &crate::store::ApprovalRow, reason: &str| {
        json!({"reason": reason, "approval_id": row.id, "rule": rule, "decided_by": row.decided_by, "message": row.reason})
    };
    match held {
        Held::Approved(row) => {
            rec.set_approval(&row.id, "approved");
            Ok(())
        }
        Held::Denied(row) => {
            rec.set_approval(&row.id, "denied");
            let by = row.decided_by.as_deref().unwrap_or("an operator");
            let message = match row.reason.as_deref() {
                Some(r) if !r.is_empty() => format!("the call to `{full}` was denied by {by}: {r}"),
                _ => format!("the call to `{full}` was denied by {by}"),
            };
            Err(McpError::new(403, "approval_denied", jsonrpc::error_with_data(id, jsonrpc::DENIED_BY_POLICY, message, data(&row, "approval_denied"))))
        }
        Held::Expired(row) => {
            rec.set_approval(&row.id, "expired");
            if settled_here {
                record::record_decision(state, &row, Some(rec.context()));
            }
            let message = format!("the call to `{full}` was not approved within {} s and has expired", cfg.approval_timeout.as_secs());
            Err(McpError::new(408, "approval_expired", jsonrpc::error_with_data(id, jsonrpc::DENIED_BY_POLICY, message, data(&row, "approval_expired"))))
        }
        Held::Abandoned(row, here) => {
            rec.set_approval(&row.id, "abandoned");
            if here {
                record::record_decision(state, &row, Some(rec.context()));
            }
            Err(McpError::new(499, "cancelled", jsonrpc::error(id, jsonrpc::REQUEST_CANCELLED, "cancelled by the client while waiting for approval")))
        }
        Held::Unavailable(e) => {
            tracing::error!(error = %e, tool = full, "cannot hold a call for approval");
            Err(McpError::new(503, "approval_unavailable", jsonrpc::error(id, jsonrpc::INTERNAL_ERROR, "the call needs approval, and approvals cannot be recorded right now; try again")))
        }
    }
}

/// A notification from the client: cancellation goes to the backend that has the request;
/// others go to every linked backend (Weir itself sent `initialized` to each already).
pub(super) async fn client_notification(state: &AppState, session: &Arc<Session>, msg: Value) {
    let method = jsonrpc::method(&msg).to_string();
    match method.as_str() {
        "notifications/initialized" => {}
        "notifications/cancelled" => {
            let Some(req_id) = msg.pointer("/params/requestId").cloned() else { return };
            let reason = msg.pointer("/params/reason").and_then(Value::as_str).map(str::to_string);
            // The backend hears of it before Weir stops waiting for its answer (a stdio link
            // finds the backend's id of the request among those it waits for).
            if let Some(server) = session.inflight_server(&req_id) {
                if let Some(link) = session.link(&server).await {
                    link.cancel(&req_id, reason.as_deref()).await;
                }
            }
            session.cancel_request(&req_id);
        }
        _ => {
            let links: Vec<Arc<Link>> = session.links.read().await.values().cloned().collect();
            for link in links {
                if let Err(e) = link.send(msg.clone()).await {
                    tracing::debug!(server = %link.server(), error = %e, "notification not delivered");
                }
            }
        }
    }
    let _ = state;
}
