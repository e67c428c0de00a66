package server

import (
	"fmt"
	"strings"
	"time"

	"github.com/sanbao/sanbao/policy"
	"golang.org/x/text/language"
)

// publicTexts is every word of the public pages in one language. Both languages
// fill every field (a test checks none is empty). Fields ending in F are
// fmt formats of one number or string; a format with a "|" has a singular
// form before it and a plural one after (see pluralForm).
type publicTexts struct {
	Tag   string // Content-Language and <html lang>
	Param string // the ?lang= value that selects it
	Name  string // the language's own name, for the switch
	// months are the abbreviated month names of a language that writes
	// "5 Nov 2026"; nil writes 2026年11月5日.
	months []string

	Title, CheckTitle, FormIntro, SerialLabel, SerialHint, CodeLabel, CodeHint, Submit string
	SerialRequired, SerialInvalid, CodeRequired                                        string

	NotFoundTitle, NotFoundText                string
	BadSerialTitle, RateLimitedTitle, RetryInF string

	Product, Accessory, Adapter, SerialNo string

	ActiveTitle, ActiveF, ExpiredTitle, ExpiredF, NotStartedTitle, StartsF, NoStart string
	VoidTitle, VoidText, ReplacedTitle, ReplacedText, ReturnedTitle, ReturnedText   string

	DatesTitle, ReturnF, ReplaceF, RepairUntil, DaysLeftF, LastDay, Ended, StartF string
	BasisCourier, BasisInvoice, BasisCustomer, BasisExchange, BasisEstimated      string
	EstimatedNote, AccessoriesTitle                                               string

	BasisDispatched string

	RepairsTitle, RepairsF, RepairsRuleF string

	ChecksTitle, ChecksF, FirstCheck, ChecksNote string

	ServiceTitle, Mailbox, Phone, Web, PaidRepair string

	ExcludedTitle                                                    string
	Wear, HumanDamage, ImproperUse, Tampered, Unauthorized, Disaster string
	VoidsNote, ReturnNoteF                                           string

	CheckAnother, LanguageLabel string
}

var textsZH = &publicTexts{
	Tag: "zh-CN", Param: "zh", Name: "中文",

	Title:       "三包凭证查询",
	CheckTitle:  "查询保修状态",
	FormIntro:   "请输入保修卡上印的序列号和 8 位查询码。扫描保修卡上的二维码可直接打开查询结果。",
	SerialLabel: "序列号",
	SerialHint:  "例如 SN2411000123",
	CodeLabel:   "查询码",
	CodeHint:    "8 位字母和数字",
	Submit:      "查询",

	SerialRequired: "请输入序列号。",
	SerialInvalid:  "序列号格式不正确：只能包含字母、数字和 - . _ 符号，长度 1–32 位。",
	CodeRequired:   "请输入保修卡上的 8 位查询码。",

	NotFoundTitle:    "未找到",
	NotFoundText:     "序列号与查询码不匹配。请核对保修卡上的序列号和查询码后重试；如仍无法查询，请联系客服。",
	BadSerialTitle:   "序列号格式不正确",
	RateLimitedTitle: "查询过于频繁",
	RetryInF:         "请在 %d 秒后重试。",

	Product: "整机", Accessory: "配件", Adapter: "适配器", SerialNo: "序列号",

	ActiveTitle:     "在保修期内",
	ActiveF:         "免费保修至 %s，还剩 %d 天",
	ExpiredTitle:    "已过保修期",
	ExpiredF:        "保修已于 %s 结束，可提供付费维修。",
	NotStartedTitle: "保修尚未开始",
	StartsF:         "保修将于 %s 开始。",
	NoStart:         "保修自您收到商品之日起计算。如您已收货，请联系客服登记收货日期。",
	VoidTitle:       "保修已失效",
	VoidText:        "检修发现批号或防拆标签被破坏，或曾在非授权网点拆修：不再提供免费服务，可提供付费维修。",
	ReplacedTitle:   "已换新，此序列号已停用",
	ReplacedText:    "本机已换为新机，新机有自己的保修卡和查询码。",
	ReturnedTitle:   "已退货，此序列号已停用",
	ReturnedText:    "本机已办理退货退款。",

	DatesTitle:     "重要日期",
	ReturnF:        "%d 天内可退货",
	ReplaceF:       "质量问题 %d 天内可换货",
	RepairUntil:    "免费保修",
	DaysLeftF:      "还剩 %d 天",
	LastDay:        "今天是最后一天",
	Ended:          "已结束",
	StartF:         "保修起始：%s（%s）",
	BasisCourier:   "快递签收确认",
	BasisInvoice:   "以发票为准",
	BasisCustomer:  "客户确认收货",
	BasisExchange:  "换新日期，新机收货后以收货日期为准",
	BasisEstimated: "无收货记录，按生产日期推算",
	EstimatedNote:  "没有收货记录时，保修起始按生产日期推算，只提供免费维修，不能退货或换货。登记收货日期请联系客服。",

	BasisDispatched: "尚无签收记录，按发货日期起算，实际期限只会更长",

	AccessoriesTitle: "随附配件",

	RepairsTitle: "免费维修",
	RepairsF:     "保修期内因质量问题已免费维修 %d 次",
	RepairsRuleF: "免费维修 %d 次后仍不能正常使用的，可以换货。",

	ChecksTitle: "防伪查询",
	ChecksF:     "此查询码已被查询 %d 次",
	FirstCheck:  "首次查询时间：",
	ChecksNote:  "如果首次查询时间早于您拿到商品的时间，说明此码曾被他人查询过，请联系客服核实。",

	ServiceTitle: "售后服务",
	Mailbox:      "客服邮箱",
	Phone:        "客服电话",
	Web:          "网站",
	PaidRepair:   "不在免费保修范围内的，可提供付费维修，维修前先报价。",

	ExcludedTitle: "以下情况不在免费保修范围内",
	Wear:          "正常使用造成的磨损和老化",
	HumanDamage:   "人为损坏，例如摔落、进水、挤压、划伤",
	ImproperUse:   "未按说明书使用、保管或保养造成的故障",
	Tampered:      "批号被撕掉或涂改，防拆标签损坏或无法辨认",
	Unauthorized:  "在非本公司授权的维修点拆机或维修",
	Disaster:      "火灾、水灾、地震、雷击等不可抗力造成的损坏",
	VoidsNote:     "标注 * 的情况一经发现，本机不再享受任何免费服务。",
	ReturnNoteF:   "%d 天内退货须商品完好、配件齐全：外包装、配件、发票或订单记录、说明书、保修卡。",

	CheckAnother:  "查询其他商品",
	LanguageLabel: "语言",
}

var textsEN = &publicTexts{
	Tag: "en", Param: "en", Name: "English",
	months: []string{"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"},

	Title:       "Warranty check",
	CheckTitle:  "Check your warranty",
	FormIntro:   "Enter the serial number and the 8-character check code printed on your warranty certificate. Scanning the certificate's QR code opens the answer directly.",
	SerialLabel: "Serial number",
	SerialHint:  "e.g. SN2411000123",
	CodeLabel:   "Check code",
	CodeHint:    "8 letters and digits",
	Submit:      "Check",

	SerialRequired: "Enter the serial number.",
	SerialInvalid:  "That is not a serial number: 1 to 32 letters, digits, - . or _.",
	CodeRequired:   "Enter the 8-character check code from the certificate.",

	NotFoundTitle:    "Not found",
	NotFoundText:     "The serial number and check code do not match. Check both against your warranty certificate and try again; if it still fails, contact our service team.",
	BadSerialTitle:   "Not a serial number",
	RateLimitedTitle: "Too many checks",
	RetryInF:         "Please try again in %d second.|Please try again in %d seconds.",

	Product: "Product", Accessory: "Accessory", Adapter: "Adapter", SerialNo: "Serial",

	ActiveTitle:     "Covered",
	ActiveF:         "Free repair until %s · %d day left|Free repair until %s · %d days left",
	ExpiredTitle:    "Warranty expired",
	ExpiredF:        "The warranty ended on %s. Paid repair is available.",
	NotStartedTitle: "Warranty not started",
	StartsF:         "The warranty starts on %s.",
	NoStart:         "The warranty starts on the day you receive the item. If you have it already, contact our service team to record the date.",
	VoidTitle:       "Warranty void",
	VoidText:        "Our service centre found the batch number or tamper sticker damaged, or a repair outside our service centres: no free service any more. Paid repair is available.",
	ReplacedTitle:   "Exchanged: this serial is retired",
	ReplacedText:    "This unit was exchanged for a new one, which has its own certificate and check code.",
	ReturnedTitle:   "Returned: this serial is retired",
	ReturnedText:    "This unit was returned and refunded.",

	DatesTitle:     "Dates that matter",
	ReturnF:        "Return within %d days",
	ReplaceF:       "Replacement for a fault within %d days",
	RepairUntil:    "Free repair",
	DaysLeftF:      "%d day left|%d days left",
	LastDay:        "last day today",
	Ended:          "ended",
	StartF:         "Warranty start: %s (%s)",
	BasisCourier:   "receipt confirmed by courier",
	BasisInvoice:   "date of the invoice",
	BasisCustomer:  "receipt confirmed by you",
	BasisExchange:  "date of the exchange, until your receipt of the new unit is recorded",
	BasisEstimated: "no receipt on record: estimated from the production date",
	EstimatedNote:  "With no receipt on record the start is estimated from the production date, and only free repair is offered: no return or replacement. Contact our service team to record your receipt.",

	BasisDispatched: "no receipt on record yet: counted from the dispatch date, your real periods are no shorter",

	AccessoriesTitle: "Accessories in the box",

	RepairsTitle: "Free repairs",
	RepairsF:     "Free repairs of faults so far: %d",
	RepairsRuleF: "If it still does not work after %d free repairs, you may have it replaced.",

	ChecksTitle: "Authenticity",
	ChecksF:     "This code has been checked %d time|This code has been checked %d times",
	FirstCheck:  "First checked: ",
	ChecksNote:  "If the first check is earlier than when you got the item, someone else has checked this code before: contact our service team.",

	ServiceTitle: "Service",
	Mailbox:      "Email",
	Phone:        "Phone",
	Web:          "Web",
	PaidRepair:   "What free warranty does not cover can be repaired for a fee, quoted before any work.",

	ExcludedTitle: "Not covered by the free warranty",
	Wear:          "Normal wear and ageing from ordinary use",
	HumanDamage:   "Damage caused by people: drops, water, crushing, scratches",
	ImproperUse:   "Faults from use, storage or care not as the manual says",
	Tampered:      "Batch number removed or altered, tamper sticker broken or unreadable",
	Unauthorized:  "Opened or repaired anywhere other than our authorised service centres",
	Disaster:      "Fire, flood, earthquake, lightning and other force majeure",
	VoidsNote:     "Cases marked * end all free service for the unit for good.",
	ReturnNoteF:   "A return within %d days needs the item undamaged and complete: box, accessories, invoice or order record, manual and warranty card.",

	CheckAnother:  "Check another item",
	LanguageLabel: "Language",
}

// publicLangs are the languages of the public pages, the default first.
var publicLangs = []*publicTexts{textsZH, textsEN}

var langMatcher = language.NewMatcher([]language.Tag{language.MustParse(textsZH.Tag), language.MustParse(textsEN.Tag)})

// pickLang chooses the page language: ?lang= when it names one, else the
// best match of Accept-Language. Chinese is the default (no header, or
// "*"); a browser asking only for languages we lack (French, Japanese...)
// gets English, which its reader more likely knows than Chinese.
func pickLang(param, acceptLanguage string) *publicTexts {
	if t := langParam(param); t != nil {
		return t
	}
	tags, _, err := language.ParseAcceptLanguage(acceptLanguage)
	if err != nil || len(tags) == 0 || tags[0] == language.Make("mul") {
		return publicLangs[0]
	}
	_, i, conf := langMatcher.Match(tags...)
	if conf == language.No {
		return textsEN
	}
	return publicLangs[i]
}

// langParam is the language a ?lang= value names ("zh", "zh-CN", "en"),
// or nil.
func langParam(v string) *publicTexts {
	for _, t := range publicLangs {
		if strings.EqualFold(v, t.Param) || strings.EqualFold(v, t.Tag) {
			return t
		}
	}
	return nil
}

// Date formats a calendar date the way the language writes it:
// 2026年11月5日, 5 Nov 2026.
func (t *publicTexts) Date(d policy.Date) string {
	if d.IsZero() {
		return ""
	}
	if t.months == nil {
		return fmt.Sprintf("%d年%d月%d日", d.Year, d.Month, d.Day)
	}
	return fmt.Sprintf("%d %s %d", d.Day, t.months[d.Month-1], d.Year)
}

// Instant formats t in loc with its UTC offset: 2026年11月5日 14:03（UTC+8）,
// 5 Nov 2026, 14:03 (UTC+8).
func (t *publicTexts) Instant(at time.Time, loc *time.Location) string {
	if at.IsZero() {
		return ""
	}
	at = at.In(loc)
	d := policy.DateOf(at, loc)
	_, off := at.Zone()
	zone := "UTC" + fmt.Sprintf("%+d", off/3600)
	if m := off % 3600 / 60; m != 0 {
		zone += fmt.Sprintf(":%02d", max(m, -m))
	}
	if t.months == nil {
		return fmt.Sprintf("%s %s（%s）", t.Date(d), at.Format("15:04"), zone)
	}
	return fmt.Sprintf("%s, %s (%s)", t.Date(d), at.Format("15:04"), zone)
}

// Kind is the word for an item kind.
func (t *publicTexts) Kind(k policy.Kind) string {
	switch k {
	case policy.KindAccessory:
		return t.Accessory
	case policy.KindAdapter:
		return t.Adapter
	}
	return t.Product
}

// Basis explains where the warranty start comes from.
func (t *publicTexts) Basis(b policy.Basis) string {
	switch b {
	case policy.Basis(policy.Courier):
		return t.BasisCourier
	case policy.Basis(policy.Invoice):
		return t.BasisInvoice
	case policy.Basis(policy.Customer):
		return t.BasisCustomer
	case policy.BasisExchange:
		return t.BasisExchange
	case policy.BasisEstimated:
		return t.BasisEstimated
	case policy.BasisDispatched:
		return t.BasisDispatched
	}
	return ""
}

// Left says how long a window still runs on today: "还剩 3 天", "last day
// today" or "ended".
func (t *publicTexts) Left(today, until policy.Date) string {
	switch n := today.DaysUntil(until); {
	case n < 0:
		return t.Ended
	case n == 0:
		return t.LastDay
	default:
		return fmt.Sprintf(pluralForm(t.DaysLeftF, n), n)
	}
}

// pluralForm is the form of format f for the number n: f is "one|many" or a
// single form for every n. Both forms take the same arguments.
func pluralForm(f string, n int) string {
	one, many, ok := strings.Cut(f, "|")
	if !ok {
		return f
	}
	if n == 1 {
		return one
	}
	return many
}
