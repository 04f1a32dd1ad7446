// The console's words, in English and Chinese; the choice is remembered in localStorage.

const DICTIONARIES = {
  en: {
    "app.title": "Fullchain CRM",
    "lang.other": "中文",
    "lang.switch": "Switch to Chinese",
    "nav.myDay": "My day",
    "nav.docs": "API documentation",
    "nav.signOut": "Sign out",
    "search.label": "Search customers, contacts, shipments",
    "search.placeholder": "Name, pinyin, phone, reference…",
    "search.go": "Search",
    "search.title": "Search: {q}",
    "search.none": "Nothing found for “{q}”.",
    "search.kind.relationship": "Customer",
    "search.kind.contact": "Contact",
    "search.kind.shipment": "Shipment",
    "signIn.title": "Sign in",
    "signIn.intro": "Paste your bearer token (`make run` prints the demo's; its console link signs you in directly).",
    "signIn.token": "Bearer token",
    "signIn.go": "Sign in",
    "signIn.refused": "The service did not accept this token.",
    "signIn.expired": "Your session ended or the token was refused: sign in again.",
    "signIn.as": "Signed in as {name} ({branch})",
    "myDay.title": "My day",
    "myDay.today": "Today {today} ({zone})",
    "myDay.overdue": "Overdue",
    "myDay.dueToday": "Due today",
    "myDay.upcoming": "Upcoming",
    "myDay.none": "Nothing here.",
    "myDay.more": "{shown} of {count} shown",
    "followUp.call": "Call",
    "followUp.visit": "Visit",
    "followUp.care_action": "Care",
    "followUp.document_to_chase": "Document to chase",
    "customer.status": "Account status",
    "customer.kind": "Kind",
    "customer.lifecycle": "Lifecycle",
    "customer.branch": "Branch",
    "customer.keyAccount": "Key account",
    "customer.fieldRep": "Field rep (外勤)",
    "customer.officeRep": "Office rep (内勤)",
    "customer.lastInteraction": "Last interaction",
    "customer.interactions90": "Interactions, last 90 days",
    "customer.openCases": "Open service cases",
    "customer.overdueFollowUps": "Overdue follow-ups",
    "customer.version": "Version",
    "customer.contacts": "Contacts",
    "customer.noContacts": "No contacts.",
    "customer.timeline": "Interactions and care",
    "customer.noTimeline": "No interactions yet.",
    "customer.yes": "yes",
    "customer.no": "no",
    "log.title": "Log an interaction",
    "log.channel": "Channel",
    "log.direction": "Direction",
    "log.contact": "Contact",
    "log.noContact": "— none —",
    "log.summary": "Summary",
    "log.submit": "Log interaction",
    "log.sending": "Logging…",
    "log.done": "Logged.",
    "log.stale": "This customer changed since you opened it — review and retry.",
    "log.review": "Show the changes",
    "log.network": "The service could not be reached; your entry is kept — submit again.",
    "log.summaryRequired": "Write a summary.",
    "channel.visit": "Visit",
    "channel.call": "Call",
    "channel.email": "Email",
    "channel.meeting": "Meeting",
    "channel.message": "Message",
    "channel.portal": "Portal",
    "direction.outbound": "Outbound",
    "direction.inbound": "Inbound",
    "care": "Care: {kind}",
    "error.generic": "The service answered {status}: {detail}",
    "error.notFound": "Not found.",
  },
  zh: {
    "app.title": "全链 CRM",
    "lang.other": "English",
    "lang.switch": "切换到英文",
    "nav.myDay": "我的一天",
    "nav.docs": "API 文档",
    "nav.signOut": "退出",
    "search.label": "搜索客户、联系人、货运",
    "search.placeholder": "名称、拼音、电话、单号…",
    "search.go": "搜索",
    "search.title": "搜索：{q}",
    "search.none": "没有找到“{q}”。",
    "search.kind.relationship": "客户",
    "search.kind.contact": "联系人",
    "search.kind.shipment": "货运",
    "signIn.title": "登录",
    "signIn.intro": "粘贴您的令牌（`make run` 会打印演示令牌；其控制台链接可直接登录）。",
    "signIn.token": "令牌",
    "signIn.go": "登录",
    "signIn.refused": "服务未接受此令牌。",
    "signIn.expired": "会话已结束或令牌被拒绝：请重新登录。",
    "signIn.as": "当前用户：{name}（{branch}）",
    "myDay.title": "我的一天",
    "myDay.today": "今天 {today}（{zone}）",
    "myDay.overdue": "已逾期",
    "myDay.dueToday": "今天到期",
    "myDay.upcoming": "即将到期",
    "myDay.none": "暂无。",
    "myDay.more": "显示 {shown} / 共 {count}",
    "followUp.call": "电话",
    "followUp.visit": "拜访",
    "followUp.care_action": "客户关怀",
    "followUp.document_to_chase": "催收单据",
    "customer.status": "客户状态",
    "customer.kind": "类型",
    "customer.lifecycle": "生命周期",
    "customer.branch": "分公司",
    "customer.keyAccount": "重点客户",
    "customer.fieldRep": "外勤",
    "customer.officeRep": "内勤",
    "customer.lastInteraction": "最近一次联系",
    "customer.interactions90": "近 90 天联系次数",
    "customer.openCases": "未结服务工单",
    "customer.overdueFollowUps": "逾期跟进",
    "customer.version": "版本",
    "customer.contacts": "联系人",
    "customer.noContacts": "暂无联系人。",
    "customer.timeline": "联系与关怀记录",
    "customer.noTimeline": "暂无联系记录。",
    "customer.yes": "是",
    "customer.no": "否",
    "log.title": "记录一次联系",
    "log.channel": "方式",
    "log.direction": "方向",
    "log.contact": "联系人",
    "log.noContact": "— 无 —",
    "log.summary": "摘要",
    "log.submit": "记录联系",
    "log.sending": "正在记录…",
    "log.done": "已记录。",
    "log.stale": "您打开此客户后，它已被他人修改——请查看后重试。",
    "log.review": "查看变更",
    "log.network": "无法连接服务；您填写的内容已保留——请再次提交。",
    "log.summaryRequired": "请填写摘要。",
    "channel.visit": "拜访",
    "channel.call": "电话",
    "channel.email": "邮件",
    "channel.meeting": "会议",
    "channel.message": "消息",
    "channel.portal": "门户",
    "direction.outbound": "主动联系",
    "direction.inbound": "客户来访/来电",
    "care": "关怀：{kind}",
    "error.generic": "服务返回 {status}：{detail}",
    "error.notFound": "未找到。",
  },
};

const STORED = "fullchain.console.language";

export const LANGUAGES = Object.keys(DICTIONARIES);

export function language() {
  const saved = localStorage.getItem(STORED);
  if (saved && saved in DICTIONARIES) return saved;
  return (navigator.language || "").toLowerCase().startsWith("zh") ? "zh" : "en";
}

export function setLanguage(code) {
  if (!(code in DICTIONARIES)) throw new Error(`no language ${code}`);
  localStorage.setItem(STORED, code);
  document.documentElement.lang = code === "zh" ? "zh-CN" : "en";
}

/** The text of `key` in the chosen language, its {placeholders} filled from `values`. */
export function t(key, values = {}) {
  const words = DICTIONARIES[language()];
  const text = key in words ? words[key] : DICTIONARIES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (_, name) => (name in values ? String(values[name]) : `{${name}}`));
}

/** The text of `key` if there is one, else `fallback` (an enum value the console does not name). */
export function tOr(key, fallback) {
  return key in DICTIONARIES[language()] ? t(key) : fallback;
}

export function locale() {
  return language() === "zh" ? "zh-CN" : "en-GB";
}
