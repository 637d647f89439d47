// Every sentence the page says, in English and Simplified Chinese.
// Findings from verify.js are {key, p} (p.seq an event's index); `say(lang,
// finding)` renders one. People count from 1: a sentence names event seq+1
// ({ev}); indices stay in the technical details.

export const LANGS = { en: "English", zh: "简体中文" };

/// `?lang=` values the page accepts (docs/VERIFIER.md).
export function langFromQuery(value) {
  const v = (value || "").trim().toLowerCase();
  if (v === "en" || v.startsWith("en-")) return "en";
  if (v === "zh" || v.startsWith("zh-")) return "zh";
  return null;
}

const ZH_PRIORITY = { low: "低", normal: "普通", high: "高", urgent: "紧急" };
const ZH_STATUS = { new: "新建", open: "处理中", pending: "等待中", on_hold: "暂停", solved: "已解决", closed: "已关闭" };

// Codes are the platform's own (PROTOCOL §4: 1–64 of a-z 0-9 _ . : -);
// these are the ones the documentation and the demo use. An unknown code is
// shown as it is.
const ZH_CODES = {
  // resolutions and final-response outcomes
  upheld: "投诉成立", partially_upheld: "部分成立", rejected: "不成立", not_upheld: "不成立",
  answered: "已答复", refunded: "已退款", paid_out: "已支付", customer_error: "客户操作失误",
  duplicate: "重复工单", withdrawn: "已撤回", resolved: "已解决", compensated: "已补偿", fixed: "已修复",
  no_action: "无需处理", referred: "已转介",
  // categories
  withdrawal_delay: "提现延迟", withdrawal: "提现", deposit: "充值", kyc: "身份认证（KYC）",
  account_access: "账户访问", account: "账户", fees: "费用", trading: "交易", fraud: "欺诈",
  scam: "诈骗", crypto: "加密资产", crypto_support: "加密资产支持", transfer: "转账", security: "安全",
  card: "银行卡", general: "一般咨询", other: "其他",
  // escalation and reopening reasons
  sla_risk: "可能超出服务时限", regulatory_complaint: "监管投诉", regulatory: "监管要求", compliance: "合规",
  customer_reply: "客户回复", ombudsman_threat: "客户拟向申诉专员投诉", customer_disputes: "客户提出异议",
  customer_request: "客户要求",
};

/// A platform code in words: Chinese for the known ones (with the code
/// itself, which the platform's letters quote); in English the code as is.
export function code(lang, c) {
  if (typeof c !== "string") return String(c);
  if (lang === "zh") return ZH_CODES[c] ? `${ZH_CODES[c]}（${c}）` : c;
  return c;
}

const T = {
  en: {
    title: "Check your ticket's record",
    title_complaint: "Check your complaint record",
    title_request: "Check your support request's record",
    intro: "This page checks, in your own browser, that every step of your ticket was recorded by the platform's log and anchored on a public blockchain, and that nothing shown was changed. It trusts neither the platform nor its server: only the blockchain, read through the RPC you choose, and the contract address you bring.",
    ticket_label: "Ticket handle or bundle URL",
    file_label: "…or drop a proof bundle file here (or choose one)",
    rpc_label: "Blockchain RPC URLs you trust (one per line; several are compared)",
    contract_label: "Contract you trust",
    contract_help: "The platform publishes this address. Check it against a second source (its website, the regulator's register), or pick a published deployment below. If it is wrong, nothing below means anything.",
    deployment_label: "…or pick a published deployment (the list built into this page)",
    deployment_none: "none picked",
    trust_bundle: "I have no trusted address: use the one in the bundle (weaker: not independently checked)",
    receipts_label: "Receipts you hold (optional: files, or compact receipts one per line)",
    advanced: "Settings",
    mmd_label: "Maximum merge delay to hold the log to, in seconds (empty: from your receipts, else nothing bounds it)",
    ack_days: "Acknowledgement deadline, days",
    final_rule: "Final response deadline",
    rule_fca: "FCA DISP: 8 weeks",
    rule_mica: "MiCA RTS 2025/294: two months",
    rule_custom: "Custom, days:",
    verify_btn: "Check",
    conformance_btn: "Check this page against the protocol's test vectors",
    footer: "Proofdesk · protocol v1 · this page runs entirely in your browser; it sends nothing but requests for the bundle and to your RPC.",
    integrity: "Is this the published page? The operator serves it, so it could serve another. A page cannot print its own fingerprint (printing it would change it), and one that printed the expected value would prove nothing. Save this page, run sha256sum verify.html (Windows: certutil -hashfile verify.html SHA256), and compare the result with the sha256 published in Proofdesk's README; or open a copy you got from a source you trust, from disk or another host: it checks any log's links the same way.",
    checking: "Checking…",
    fetching: "Fetching the bundle from {url}…",
    progress: "Checking… {done} of {total} events",
    hidden_steps: "{n} more steps, checked like the others and without problems or warnings, are not shown.",
    show_all: "Show all {n} steps",
    verdict_valid: "Verified: every step shown below is recorded and anchored, unchanged.",
    verdict_valid_pending: "Verified so far: the anchored steps check out; {n} recent step(s) are not yet anchored.",
    verdict_consistent: "Consistent with the log's own claims, NOT independently checked: the {what} came only from the log or a link. Nothing below is verified until you bring your own.",
    what_contract: "contract address",
    what_rpc: "RPC",
    what_both: "contract address and the RPC",
    verdict_invalid: "NOT verified: something is wrong. Every problem is listed below.",
    verdict_error: "Could not check: {reason}",
    verdict_pending: "Not yet anchored: none of these steps is anchored on the blockchain yet, so nothing is verified yet, and nothing is wrong. Check again in a few minutes.",
    receipts_trouble: "{n} of your receipt(s) could not be used (see “Your receipts”); the verdict above does not rest on them.",
    bring_h: "To check it independently, bring",
    bring_contract: "the contract address from a source you trust (the platform's website, the regulator's register), or pick a published deployment from the list;",
    bring_rpc: "an RPC of your own (a provider you chose, or your own node); several are compared.",
    sources_h: "Where each input came from",
    src_contract: "Contract {value}: {source}.",
    src_rpc: "RPC {value}: {source}.",
    src_ticket: "Ticket {value}: {source}.",
    src_none_contract: "Contract: none given.",
    s_typed: "you typed it",
    s_typed_list: "you typed it; it matches {platform}'s published deployment",
    s_typed_dev: "you typed it; it is the development deployment (not a platform's)",
    s_list: "from the deployment list: {platform}'s published deployment",
    s_list_dev: "from the deployment list: the development deployment (not a platform's)",
    s_link: "from the link",
    s_log: "suggested by the log",
    s_bundle: "named by the bundle",
    s_stored: "you typed it (on an earlier visit, kept in this browser)",
    s_path: "the handle in the page's URL",
    s_file: "the bundle file you chose",
    link_refused: "The link names ticket {got}, but this page is for {handle}: the link's ticket is refused.",
    offer: "{value}: {source}; used only while the field is empty, and never enough for “Verified”.",
    list_hint: "The bundle's contract {contract} is on the deployment list as {platform}'s ({kind}). Pick it from the list to rely on the list.",
    kind_platform: "a platform's published deployment",
    kind_development: "development deployment, not a platform's",
    problems_h: "Problems",
    warnings_h: "Warnings",
    notes_h: "Notes",
    timeline_h: "Timeline",
    outcome_h: "Outcome",
    outcome_claimed: "As the log records it (not independently checked):",
    kind_complaint: "This ticket is a complaint.",
    kind_request: "This ticket is a support request, not a complaint.",
    clock_h: "Complaint deadlines",
    limits_h: "What this check cannot prove",
    disclosures_h: "Message texts",
    receipts_h: "Your receipts",
    details_h: "Technical details",
    status_not_established: "Status not established: the record did not verify.",
    status_pending: "Status not established yet: no step is anchored yet.",
    status_error: "Status not established: the record could not be checked.",
    status_line: "Status: {status}.",
    resolution_line: "Resolution: {resolution}.",
    final_line: "Final response: {outcome}.",
    escalation_line: "Escalated to level {level}.",
    pending_apart: "Not yet anchored (shown apart, not counted in the status): {list}.",
    event_n: "event {ev}",
    mark_ok: "verified",
    mark_bad: "failed",
    mark_pending: "not yet anchored",
    mark_consistent: "consistent with the log's claims, not independently checked",
    mark_unchecked: "not checked",
    anchored_in: "anchored in block {block} at {time}",
    lag: "{dur} after the log recorded it",
    anchored_untrusted: "not confirmed on a contract you trust",
    anchored_in_bad: "not confirmed on chain",
    anchored_unchecked: "not checked on chain",
    pending_text: "recorded by the log, not yet anchored",
    explorer: "view on explorer",
    withheld_line: "Event {ev}: accepted by the log (your receipt), missing from this record",
    after_you_wrote: "{what} {dur} after you wrote",
    complete: "Events 1 through {k} are anchored and complete: none between them can have been removed or changed. Later events are not ruled out: a log can withhold events recorded after event {k}.",
    equivocation: "One bundle cannot show whether the log gave another reader a different version of an event; a full audit of the log (proofdesk audit) can.",
    receipts_found: "Every receipt you hold (up to event {r}) was found.",
    limits: [
      "Who acted, what happened and when the platform says it happened are the platform's own statements: this check proves they were recorded no later than their anchoring block and not altered since, not that they are true.",
      "The record's time (recorded_at) is the log's own clock. The blockchain bounds it from above: each step was recorded no later than its anchoring block's time, which block producers set, to the second.",
      "Message texts are not in the record, only a sealed fingerprint of them; the platform can give you a text and this page confirms it is exactly what was recorded.",
    ],
    mmd_user: "The anchoring delay is held to {secs} s: your setting.",
    mmd_receipts: "The anchoring delay is held to the deadlines signed in your receipts ({secs} s at most).",
    mmd_nobody: "The anchoring delay is bounded by nothing you hold: the log claims {secs} s (unsigned, its own claim), so no step is called timely. Each step's delay is shown; bring a receipt, or set a maximum merge delay, to hold the log to a promise.",
    clock_start: "Clock starts when you wrote: {time}.",
    clock_ack: "Acknowledgement (deadline {deadline}): {verdict}",
    clock_final: "Final response (deadline {deadline}): {verdict}",
    met: "met: reported {occurred}, anchored {anchored}",
    met_late: "reported met ({occurred}), recorded late: anchored {anchored}, after the deadline, so the log cannot vouch for it",
    met_pending: "reported met ({occurred}), not yet anchored",
    missed: "missed",
    missed_late: "missed: reported {when}",
    open_left: "still open, {days} day(s) left",
    clock_note: "A deadline counts as met only when the step is reported within it and anchored on the blockchain by it: only then can the log vouch for it. Times shown are the platform's reported times; the anchoring block's time bounds when each was recorded.",
    conformance_ok: "This page passes all {n} protocol conformance checks.",
    conformance_bad: "This page FAILS {bad} of {n} protocol conformance checks: do not rely on it.",
    disclosure_ok: "The message recorded as event {ev} on {time} is exactly this text:",
    receipt_ok: "Receipt {n} (event {ev}): signed by the log's anchorer and found in the record.",
    role: { customer: "you", agent: "an agent", system: "the platform's system", bot: "a bot", integration: "a connected system" },
    status: { new: "new", open: "open", pending: "waiting", on_hold: "on hold", solved: "resolved", closed: "closed" },
    priority: { low: "low", normal: "normal", high: "high", urgent: "urgent" },
    ev: {
      "ticket.created": (d, c) => `${d.complaint ? "Complaint opened" : "Support request opened"} (category ${code("en", d.category)}, priority ${d.priority})`,
      "ticket.acknowledged": (d, c) => `The platform acknowledged your ${c.complaint ? "complaint" : "request"}`,
      "message.added": (d) => d.visibility === "internal" ? "Internal note by the platform" : d.direction === "inbound" ? "Message from you" : "Message to you",
      "ticket.assigned": (d) => `Assigned to ${d.assignee}${d.group ? ` (team ${d.group})` : ""}`,
      "priority.changed": (d) => `Priority changed from ${d.from} to ${d.to}`,
      "status.changed": (d) => `Status changed from ${d.from} to ${d.to}`,
      "ticket.escalated": (d) => `Escalated to level ${d.level}: ${code("en", d.reason)}`,
      "ticket.resolved": (d) => `Resolved: ${code("en", d.resolution)}`,
      "ticket.reopened": (d) => `Reopened${d.reason ? `: ${code("en", d.reason)}` : ""}`,
      "ticket.closed": () => "Closed",
      "satisfaction.rated": (d) => d.survey === "nps"
        ? `Would recommend us: ${d.score} of 10 (NPS survey)`
        : `Satisfaction rated ${d.score} of ${d.scale}`,
      "final_response.issued": (d) => `Final response: ${code("en", d.outcome)}; ${d.referral_rights ? "you were told of your right to refer" : "you were NOT told of your right to refer the complaint to an ombudsman"}`,
    },
    by: "by {who}",
    step: { "ticket.acknowledged": "acknowledged", "final_response.issued": "final response", "ticket.resolved": "resolved", "ticket.closed": "closed", "ticket.escalated": "escalated" },
    f: {
      bundle_unreadable: "The proof bundle cannot be read: {detail}.",
      bundle_version: "The bundle is version {v}; this page knows version 1.",
      no_events: "The bundle has no events.",
      wrong_ticket: "The bundle is for ticket {got}, not the ticket you asked for ({expected}).",
      batch_twice: "Batch {id} is listed twice.",
      batch_empty: "Batch {id} claims to be empty.",
      batch_head_bad: "Batch {id}'s head does not match its range and root.",
      record_invalid: "Event {ev}'s record is not a valid record: {detail}.",
      leaf_mismatch: "Event {ev} was changed: its record no longer matches its fingerprint.",
      other_ticket: "Event {ev} belongs to another ticket ({ticket}).",
      seq_gap: "Event {ev} carries the number of event {got_ev}: events are missing or out of order before it.",
      prev_broken: "Event {ev} does not link to the event before it: an event was removed, inserted or changed.",
      index_order: "Event {ev}'s log position {index} does not follow {prev}.",
      state_rejects: "Event {ev} is impossible at that point of the ticket: {detail}.",
      pending_with_path: "Event {ev} is shown as not yet anchored but carries a proof.",
      anchored_after_pending: "Event {ev} is anchored although an earlier event is not yet anchored.",
      batch_not_listed: "Event {ev} names batch {id}, which the bundle does not include.",
      outside_batch: "Event {ev} (log position {index}) lies outside batch {id}.",
      path_fails: "Event {ev}'s inclusion proof in batch {id} fails: {detail}.",
      trusted_not_address: "The contract given ({got}) is not an address.",
      contract_mismatch: "The bundle is anchored to contract {bundle}, not the contract {trusted} ({src}).",
      no_trusted_contract: "No contract was given: the record is not tied to any contract you trust.",
      contract_from_bundle: "The contract {contract} was taken from the bundle itself, not from a source you trust.",
      chain_mismatch: "The bundle says chain {bundle}; your RPC serves chain {rpc}.",
      list_chain: "The deployment list puts {platform}'s contract on chain {list}; your RPC serves chain {rpc}.",
      no_code: "There is no contract at {contract} on this chain.",
      rpc_disagree: "Your RPCs disagree on {what}: {rpcA} answers {a}, {rpcB} answers {b}.",
      anchorer_mismatch: "The contract's anchorer is {chain}, not {bundle} as the bundle says.",
      pending_but_anchored: "Event {ev} is shown as not yet anchored, but the contract has already anchored every log position below {next}: the log withholds its proof.",
      batch_head_differs: "Batch {id} on chain differs from the bundle's batch.",
      batch_no_log: "No BatchAnchored event for batch {id} was found within {window} blocks of block {claimed}.",
      batch_no_log_unclaimed: "No BatchAnchored event for batch {id} was found in the last {window} blocks, and the bundle names no block.",
      mmd_overflow: "The maximum merge delay {value} is out of range.",
      mmd_refused: "The maximum merge delay you set ({value}) is refused: {detail}.",
      rpc_failed: "The blockchain RPC failed: {detail}.",
      receipt_unreadable: "Receipt {n} cannot be read: {detail}.",
      receipt_signer: "Receipt {n} was signed by {signer}, not by the log's anchorer {anchorer}.",
      receipt_chain: "Receipt {n} is for chain {got}, not chain {chain}.",
      receipt_contract: "Receipt {n} is for contract {got}, not the contract in use.",
      receipt_ticket: "Receipt {n} is for another ticket ({got}).",
      receipt_unchecked: "Receipt {n} could not be checked against the contract's anchorer on chain.",
      receipt_withheld: "Receipt {n} proves the log accepted event {ev} (log position {index}), but the record shown does not contain it: withheld or never recorded. This is evidence against the operator.",
      disclosure_unreadable: "Message text {n} cannot be read: {detail}.",
      disclosure_ticket: "Message text {n} is for another ticket ({got}).",
      disclosure_no_event: "Message text {n} names event {ev} at log position {index}, which is not in the record.",
      disclosure_no_content: "Event {ev} has no message text to compare with.",
      disclosure_mismatch: "Message text {n} is NOT what was recorded as event {ev}.",
      flag_backdated: "Event {ev} claims to have been recorded after its anchoring block: backdated.",
      flag_late: "Event {ev} was anchored {secs} s after recording, beyond the promised {mmd} s: a broken promise.",
      flag_pending: "Event {ev} is not yet anchored.",
      flag_pending_overdue: "Event {ev} is still not anchored, past the promised {mmd} s: a broken promise.",
      receipt_late: "Receipt {n}: event {ev} was anchored after the receipt's deadline: a broken promise.",
      receipt_pending_overdue: "Receipt {n}: event {ev} is still not anchored, past the receipt's deadline: a broken promise.",
      block_moved: "Batch {id}: the log claimed block {claimed}; anchored in block {block}.",
    },
  },
  zh: {
    title: "核验您的工单记录",
    title_complaint: "核验您的投诉记录",
    title_request: "核验您的支持请求记录",
    intro: "本页面在您自己的浏览器中核验：您的工单的每一步都已被平台日志记录并锚定在公共区块链上，且所显示的内容未被篡改。它既不信任平台，也不信任平台的服务器，只信任您所选择的 RPC 读取的区块链，以及您自己提供的合约地址。",
    ticket_label: "工单编号或证明包网址",
    file_label: "…或将证明包文件拖放到此处（或选择文件）",
    rpc_label: "您信任的区块链 RPC 网址（每行一个；多个会相互比对）",
    contract_label: "您信任的合约地址",
    contract_help: "平台会公布此地址。请通过第二个来源（平台官网、监管机构登记）核对，或在下方选择已公布的部署。如果地址错误，以下所有结果都没有意义。",
    deployment_label: "…或选择已公布的部署（本页面内置的清单）",
    deployment_none: "未选择",
    trust_bundle: "我没有可信地址：使用证明包中的地址（较弱：未经独立核验）",
    receipts_label: "您持有的回执（可选：文件，或每行一个紧凑回执）",
    advanced: "设置",
    mmd_label: "要求日志遵守的最长合并延迟（秒）（留空：取自您的回执，否则没有任何约束）",
    ack_days: "确认受理期限（天）",
    final_rule: "最终答复期限",
    rule_fca: "英国 FCA DISP：8 周",
    rule_mica: "欧盟 MiCA RTS 2025/294：两个月",
    rule_custom: "自定义（天）：",
    verify_btn: "核验",
    conformance_btn: "用协议测试向量检查本页面",
    footer: "Proofdesk · 协议 v1 · 本页面完全在您的浏览器中运行；除获取证明包和访问您的 RPC 外，不发送任何数据。",
    integrity: "这是公布的页面吗？页面由运营方提供，它也可以提供另一个页面。页面无法显示自己的指纹（写入指纹会改变指纹），而显示预期值的页面也证明不了什么。请保存本页面，运行 sha256sum verify.html（Windows：certutil -hashfile verify.html SHA256），并与 Proofdesk README 中公布的 sha256 比较；或者打开您从可信来源获得的副本（从本地磁盘或其他网站打开），它对任何日志的链接都以同样方式核验。",
    checking: "正在核验…",
    fetching: "正在从 {url} 获取证明包…",
    progress: "正在核验… 已核验 {done} / {total} 个事件",
    hidden_steps: "另有 {n} 个步骤未显示：它们同样经过核验，且没有问题或警告。",
    show_all: "显示全部 {n} 个步骤",
    verdict_valid: "已核验：下面显示的每一步都已记录并锚定，且未被更改。",
    verdict_valid_pending: "目前已核验：已锚定的步骤均无误；最近 {n} 步尚未锚定。",
    verdict_consistent: "与日志自己的说法一致，但未经独立核验：{what}仅来自日志或链接。在您提供自己的来源之前，以下内容均未经核验。",
    what_contract: "合约地址",
    what_rpc: "RPC",
    what_both: "合约地址和 RPC",
    verdict_invalid: "未通过核验：存在问题。所有问题列于下方。",
    verdict_error: "无法核验：{reason}",
    verdict_pending: "尚未锚定：这些步骤都还没有锚定到区块链上，因此暂时无法核验，也没有发现问题。请几分钟后再查看。",
    receipts_trouble: "您的 {n} 张回执无法使用（见“您的回执”）；上面的结论不依赖于它们。",
    bring_h: "如需独立核验，请提供",
    bring_contract: "从可信来源（平台官网、监管机构登记）获得的合约地址，或从清单中选择已公布的部署；",
    bring_rpc: "您自己的 RPC（您选择的服务商或您自己的节点）；多个 RPC 会相互比对。",
    sources_h: "各项输入的来源",
    src_contract: "合约 {value}：{source}。",
    src_rpc: "RPC {value}：{source}。",
    src_ticket: "工单 {value}：{source}。",
    src_none_contract: "合约：未提供。",
    s_typed: "您输入的",
    s_typed_list: "您输入的；与 {platform} 公布的部署一致",
    s_typed_dev: "您输入的；这是开发用部署（不属于任何平台）",
    s_list: "来自部署清单：{platform} 公布的部署",
    s_list_dev: "来自部署清单：开发用部署（不属于任何平台）",
    s_link: "来自链接",
    s_log: "日志建议的",
    s_bundle: "证明包中指定的",
    s_stored: "您输入的（上次访问时输入，保存在本浏览器中）",
    s_path: "页面网址中的工单编号",
    s_file: "您选择的证明包文件",
    link_refused: "链接指向工单 {got}，但本页面针对的是 {handle}：已拒绝链接中的工单。",
    offer: "{value}：{source}；仅在该字段为空时使用，且不足以得出“已核验”。",
    list_hint: "证明包的合约 {contract} 在部署清单中属于 {platform}（{kind}）。从清单中选择它，即可依据清单核验。",
    kind_platform: "平台公布的部署",
    kind_development: "开发用部署，不属于任何平台",
    problems_h: "问题",
    warnings_h: "警告",
    notes_h: "说明",
    timeline_h: "时间线",
    outcome_h: "处理结果",
    outcome_claimed: "按日志的记录（未经独立核验）：",
    kind_complaint: "此工单是一项投诉。",
    kind_request: "此工单是一项支持请求，不是投诉。",
    clock_h: "投诉处理期限",
    limits_h: "本核验无法证明的内容",
    disclosures_h: "消息原文",
    receipts_h: "您的回执",
    details_h: "技术细节",
    status_not_established: "无法确定状态：记录未通过核验。",
    status_pending: "状态尚未确定：尚未锚定任何步骤。",
    status_error: "无法确定状态：记录无法核验。",
    status_line: "状态：{status}。",
    resolution_line: "解决方式：{resolution}。",
    final_line: "最终答复：{outcome}。",
    escalation_line: "已升级至第 {level} 级。",
    pending_apart: "尚未锚定（单独列出，不计入状态）：{list}。",
    event_n: "第 {ev} 个事件",
    mark_ok: "已核验",
    mark_bad: "失败",
    mark_pending: "尚未锚定",
    mark_consistent: "与日志的说法一致，未经独立核验",
    mark_unchecked: "未核验",
    anchored_in: "于 {time} 锚定在区块 {block}",
    lag: "日志记录后 {dur}",
    anchored_untrusted: "未在您信任的合约上得到确认",
    anchored_in_bad: "未在链上确认",
    anchored_unchecked: "未在链上核验",
    pending_text: "日志已记录，尚未锚定",
    explorer: "在区块浏览器中查看",
    withheld_line: "第 {ev} 个事件：日志已接收（您的回执为证），但此记录中缺失",
    after_you_wrote: "在您提交后 {dur}{what}",
    complete: "第 1 至第 {k} 个事件均已锚定且完整：其间任何事件都不可能被删除或更改。不能排除之后还有事件：日志可以隐瞒第 {k} 个事件之后记录的事件。",
    equivocation: "单个证明包无法表明日志是否向其他读者提供了某个事件的另一个版本；对日志的完整审计（proofdesk audit）可以。",
    receipts_found: "您持有的每一张回执（直至第 {r} 个事件）均已找到。",
    limits: [
      "谁操作、发生了什么、平台声称何时发生，都是平台自己的陈述：本核验证明这些内容不晚于其锚定区块被记录且此后未被更改，但不能证明其真实。",
      "记录时间（recorded_at）是日志自己的时钟。区块链为它设定上限：每一步的记录时间都不晚于其锚定区块的时间，该时间由出块者设定，精度为一秒。",
      "消息原文不在记录中，只有其密封指纹；平台可以向您提供原文，本页面可以确认它与记录完全一致。",
    ],
    mmd_user: "锚定延迟以 {secs} 秒为限：您的设置。",
    mmd_receipts: "锚定延迟以您的回执中签名的期限为限（最多 {secs} 秒）。",
    mmd_nobody: "锚定延迟不受您持有的任何东西约束：日志声称 {secs} 秒（未签名，只是它自己的说法），因此不把任何步骤判定为及时。每一步的延迟均已显示；提供回执或设置最长合并延迟，才能要求日志兑现承诺。",
    clock_start: "期限从您提交时开始计算：{time}。",
    clock_ack: "确认受理（期限 {deadline}）：{verdict}",
    clock_final: "最终答复（期限 {deadline}）：{verdict}",
    met: "已按时完成：报告时间 {occurred}，锚定于 {anchored}",
    met_late: "报告为按时完成（{occurred}），但记录较晚：锚定于 {anchored}，晚于期限，因此日志无法为此作证",
    met_pending: "报告为按时完成（{occurred}），尚未锚定",
    missed: "已逾期",
    missed_late: "已逾期：报告时间 {when}",
    open_left: "尚未完成，剩余 {days} 天",
    clock_note: "只有在期限内报告、并在期限前锚定到区块链上的步骤才算按时完成：只有这样日志才能为此作证。所示时间为平台报告的时间；锚定区块的时间为每一步的记录时间设定上限。",
    conformance_ok: "本页面通过全部 {n} 项协议一致性检查。",
    conformance_bad: "本页面有 {bad} / {n} 项协议一致性检查未通过：请勿依赖本页面。",
    disclosure_ok: "作为第 {ev} 个事件于 {time} 记录的消息与以下文字完全一致：",
    receipt_ok: "回执 {n}（第 {ev} 个事件）：由日志的锚定者签名，且在记录中找到。",
    role: { customer: "您", agent: "客服人员", system: "平台系统", bot: "机器人", integration: "关联系统" },
    status: ZH_STATUS,
    priority: ZH_PRIORITY,
    ev: {
      "ticket.created": (d) => `${d.complaint ? "投诉已提交" : "支持请求已提交"}（类别 ${code("zh", d.category)}，优先级 ${ZH_PRIORITY[d.priority] || d.priority}）`,
      "ticket.acknowledged": (d, c) => `平台已确认受理您的${c.complaint ? "投诉" : "请求"}`,
      "message.added": (d) => d.visibility === "internal" ? "平台内部备注" : d.direction === "inbound" ? "您发送的消息" : "发给您的消息",
      "ticket.assigned": (d) => `已分配给 ${d.assignee}${d.group ? `（团队 ${d.group}）` : ""}`,
      "priority.changed": (d) => `优先级由 ${ZH_PRIORITY[d.from] || d.from} 改为 ${ZH_PRIORITY[d.to] || d.to}`,
      "status.changed": (d) => `状态由 ${ZH_STATUS[d.from] || d.from} 改为 ${ZH_STATUS[d.to] || d.to}`,
      "ticket.escalated": (d) => `已升级至第 ${d.level} 级：${code("zh", d.reason)}`,
      "ticket.resolved": (d) => `已解决：${code("zh", d.resolution)}`,
      "ticket.reopened": (d) => `已重新打开${d.reason ? `：${code("zh", d.reason)}` : ""}`,
      "ticket.closed": () => "已关闭",
      "satisfaction.rated": (d) => d.survey === "nps"
        ? `推荐意愿 ${d.score} / 10（NPS 调查）`
        : `满意度评分 ${d.score} / ${d.scale}`,
      "final_response.issued": (d) => `最终答复：${code("zh", d.outcome)}；${d.referral_rights ? "已告知您有权将投诉提交给申诉专员或监管机构" : "未告知您有权将投诉提交给申诉专员或监管机构"}`,
    },
    by: "操作者：{who}",
    step: { "ticket.acknowledged": "确认受理", "final_response.issued": "作出最终答复", "ticket.resolved": "解决", "ticket.closed": "关闭", "ticket.escalated": "升级" },
    f: {
      bundle_unreadable: "无法读取证明包：{detail}。",
      bundle_version: "证明包版本为 {v}；本页面只支持版本 1。",
      no_events: "证明包中没有事件。",
      wrong_ticket: "该证明包属于工单 {got}，而不是您请求的工单（{expected}）。",
      batch_twice: "批次 {id} 被列出两次。",
      batch_empty: "批次 {id} 声称为空。",
      batch_head_bad: "批次 {id} 的头哈希与其范围和根不符。",
      record_invalid: "第 {ev} 个事件的记录无效：{detail}。",
      leaf_mismatch: "第 {ev} 个事件已被更改：其记录与指纹不再相符。",
      other_ticket: "第 {ev} 个事件属于另一个工单（{ticket}）。",
      seq_gap: "第 {ev} 个事件带有第 {got_ev} 个事件的编号：此前有事件缺失或顺序错乱。",
      prev_broken: "第 {ev} 个事件未与前一个事件相连：有事件被删除、插入或更改。",
      index_order: "第 {ev} 个事件的日志位置 {index} 未排在 {prev} 之后。",
      state_rejects: "第 {ev} 个事件在工单的该阶段不可能发生：{detail}。",
      pending_with_path: "第 {ev} 个事件显示为尚未锚定，却带有证明。",
      anchored_after_pending: "第 {ev} 个事件已锚定，但更早的事件尚未锚定。",
      batch_not_listed: "第 {ev} 个事件引用了证明包中没有的批次 {id}。",
      outside_batch: "第 {ev} 个事件（日志位置 {index}）不在批次 {id} 范围内。",
      path_fails: "第 {ev} 个事件在批次 {id} 中的包含证明失败：{detail}。",
      trusted_not_address: "所提供的合约（{got}）不是有效地址。",
      contract_mismatch: "该证明包锚定在合约 {bundle}，而不是合约 {trusted}（{src}）。",
      no_trusted_contract: "未提供合约：该记录未与任何您信任的合约关联。",
      contract_from_bundle: "合约 {contract} 取自证明包本身，而非您信任的来源。",
      chain_mismatch: "证明包声称在链 {bundle} 上；您的 RPC 提供的是链 {rpc}。",
      list_chain: "部署清单中 {platform} 的合约在链 {list} 上；您的 RPC 提供的是链 {rpc}。",
      no_code: "此链上地址 {contract} 处没有合约。",
      rpc_disagree: "您的 RPC 对 {what} 的回答不一致：{rpcA} 回答 {a}，{rpcB} 回答 {b}。",
      anchorer_mismatch: "合约的锚定者是 {chain}，而不是证明包所称的 {bundle}。",
      pending_but_anchored: "第 {ev} 个事件显示为尚未锚定，但合约已锚定日志位置 {next} 以下的所有事件：日志隐瞒了它的证明。",
      batch_head_differs: "链上的批次 {id} 与证明包中的不同。",
      batch_no_log: "在区块 {claimed} 前后 {window} 个区块内未找到批次 {id} 的 BatchAnchored 事件。",
      batch_no_log_unclaimed: "在最近 {window} 个区块内未找到批次 {id} 的 BatchAnchored 事件，且证明包未指明区块。",
      mmd_overflow: "最长合并延迟 {value} 超出范围。",
      mmd_refused: "您设置的最长合并延迟（{value}）被拒绝：{detail}。",
      rpc_failed: "区块链 RPC 调用失败：{detail}。",
      receipt_unreadable: "无法读取回执 {n}：{detail}。",
      receipt_signer: "回执 {n} 由 {signer} 签名，而不是日志的锚定者 {anchorer}。",
      receipt_chain: "回执 {n} 属于链 {got}，而不是链 {chain}。",
      receipt_contract: "回执 {n} 属于合约 {got}，而不是所用的合约。",
      receipt_ticket: "回执 {n} 属于另一个工单（{got}）。",
      receipt_unchecked: "回执 {n} 无法通过链上合约的锚定者进行核对。",
      receipt_withheld: "回执 {n} 证明日志已接收第 {ev} 个事件（日志位置 {index}），但所显示的记录中没有它：被隐瞒或从未记录。这是对运营方不利的证据。",
      disclosure_unreadable: "无法读取消息原文 {n}：{detail}。",
      disclosure_ticket: "消息原文 {n} 属于另一个工单（{got}）。",
      disclosure_no_event: "消息原文 {n} 指向日志位置 {index} 的第 {ev} 个事件，但记录中没有该事件。",
      disclosure_no_content: "第 {ev} 个事件没有可比对的消息原文。",
      disclosure_mismatch: "消息原文 {n} 与第 {ev} 个事件所记录的内容不一致。",
      flag_backdated: "第 {ev} 个事件声称的记录时间晚于其锚定区块：时间被倒填。",
      flag_late: "第 {ev} 个事件在记录后 {secs} 秒才锚定，超过承诺的 {mmd} 秒：违背承诺。",
      flag_pending: "第 {ev} 个事件尚未锚定。",
      flag_pending_overdue: "第 {ev} 个事件超过承诺的 {mmd} 秒仍未锚定：违背承诺。",
      receipt_late: "回执 {n}：第 {ev} 个事件在回执期限之后才锚定：违背承诺。",
      receipt_pending_overdue: "回执 {n}：第 {ev} 个事件超过回执期限仍未锚定：违背承诺。",
      block_moved: "批次 {id}：日志声称在区块 {claimed}；实际锚定在区块 {block}。",
    },
  },
};

export function t(lang, key, p = {}) {
  const v = (T[lang] && T[lang][key]) ?? T.en[key];
  if (typeof v !== "string") return v;
  return fill(v, p);
}

function fill(s, p) {
  return s.replace(/\{(\w+)\}/g, (_, k) => (p[k] === undefined || p[k] === null ? "?" : String(p[k])));
}

/// The words for an input's source (SPEC §1).
export function sourceWords(lang, source, entry = null) {
  if ((source === "typed" || source === "list") && entry) {
    const dev = entry.kind === "development";
    const key = source === "typed" ? (dev ? "s_typed_dev" : "s_typed_list") : dev ? "s_list_dev" : "s_list";
    return t(lang, key, { platform: entry.platform });
  }
  return t(lang, `s_${source}`);
}

/// One finding as a sentence.
export function say(lang, finding) {
  const p = { ...(finding.p || {}) };
  if (typeof p.seq === "number") p.ev = p.seq + 1;
  if (typeof p.got === "number" && finding.key === "seq_gap") p.got_ev = p.got + 1;
  if (finding.key === "contract_mismatch") p.src = sourceWords(lang, p.source || "typed");
  let key = finding.key;
  if (key === "batch_no_log" && (p.claimed === null || p.claimed === undefined)) key = "batch_no_log_unclaimed";
  const tpl = (T[lang] && T[lang].f[key]) ?? T.en.f[key] ?? key;
  return fill(tpl, p);
}

/// An event in words; `ctx.complaint` tells a complaint from a support request.
export function describeEvent(lang, record, ctx = {}) {
  const fn = (T[lang] || T.en).ev[record.type];
  return fn ? fn(record.data, ctx) : record.type;
}

export function table(lang, name) {
  return (T[lang] || T.en)[name];
}

/// "2 h 14 min", "3 d 4 h", "45 s" / "2 小时 14 分钟".
export function duration(lang, ms) {
  const zh = lang === "zh";
  const s = Math.max(0, Math.round(ms / 1000));
  const d = Math.floor(s / 86400), h = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  const u = zh ? { d: " 天", h: " 小时", m: " 分钟", s: " 秒" } : { d: " d", h: " h", m: " min", s: " s" };
  const parts = [];
  if (d) parts.push(d + u.d);
  if (h) parts.push(h + u.h);
  if (m && !d) parts.push(m + u.m);
  if (!parts.length) parts.push(s + u.s);
  return parts.join(" ");
}

export function allKeys() {
  return { en: Object.keys(T.en.f), zh: Object.keys(T.zh.f), enTop: Object.keys(T.en), zhTop: Object.keys(T.zh) };
}
