package main

import (
	"strings"
	"unicode"
)

// initialisms are written in capitals in Go names, as golint wants.
var initialisms = map[string]bool{
	"API": true, "ASCII": true, "CPU": true, "CSS": true, "DNS": true, "GUID": true, "HTML": true, "HTTP": true,
	"HTTPS": true, "ID": true, "IP": true, "JSON": true, "SQL": true, "TLS": true, "TTL": true, "UI": true,
	"UID": true, "UUID": true, "URI": true, "URL": true, "UTC": true, "XML": true, "UPN": true,
}

// words splits a JSON or swagger name into words: at non-alphanumerics and
// at case changes, keeping runs of capitals together ("qnaEmbedURL" is qna,
// Embed, URL; "PowerBIReport" is Power, BI, Report).
func words(s string) []string {
	var out []string
	var cur []rune
	flush := func() {
		if len(cur) > 0 {
			out = append(out, string(cur))
			cur = cur[:0]
		}
	}
	rs := []rune(s)
	for i, r := range rs {
		switch {
		case !unicode.IsLetter(r) && !unicode.IsDigit(r):
			flush()
			continue
		case i > 0 && unicode.IsUpper(r) && len(cur) > 0:
			prev := rs[i-1]
			nextLower := i+1 < len(rs) && unicode.IsLower(rs[i+1])
			if unicode.IsLower(prev) || unicode.IsDigit(prev) || unicode.IsUpper(prev) && nextLower {
				flush()
			}
		}
		cur = append(cur, r)
	}
	flush()
	return out
}

// exported turns a JSON or swagger name into an exported Go name:
// "datasetId" is DatasetID, "embedUrl" EmbedURL, "@odata.context" OdataContext.
func exported(s string) string {
	var b strings.Builder
	for _, w := range words(s) {
		if u := strings.ToUpper(w); initialisms[u] {
			b.WriteString(u)
			continue
		}
		rs := []rune(w)
		rs[0] = unicode.ToUpper(rs[0])
		b.WriteString(string(rs))
	}
	out := b.String()
	if out == "" || unicode.IsDigit([]rune(out)[0]) {
		out = "V" + out
	}
	return out
}

// unexported turns a name into an unexported Go name: "groupId" is groupID.
func unexported(s string) string {
	ws := words(s)
	if len(ws) == 0 {
		return "v"
	}
	var b strings.Builder
	for i, w := range ws {
		switch u := strings.ToUpper(w); {
		case i == 0 && initialisms[u]:
			b.WriteString(strings.ToLower(w))
		case i == 0:
			rs := []rune(w)
			rs[0] = unicode.ToLower(rs[0])
			b.WriteString(string(rs))
		case initialisms[u]:
			b.WriteString(u)
		default:
			rs := []rune(w)
			rs[0] = unicode.ToUpper(rs[0])
			b.WriteString(string(rs))
		}
	}
	out := b.String()
	if goKeywords[out] {
		out += "_"
	}
	return out
}

var goKeywords = map[string]bool{
	"break": true, "case": true, "chan": true, "const": true, "continue": true, "default": true, "defer": true,
	"else": true, "fallthrough": true, "for": true, "func": true, "go": true, "goto": true, "if": true,
	"import": true, "interface": true, "map": true, "package": true, "range": true, "return": true,
	"select": true, "struct": true, "switch": true, "type": true, "var": true,
}

// kebab writes a name as the REST reference's page names do:
// "GetReportsInGroup" is get-reports-in-group, "AddPowerBIEncryptionKey"
// add-power-bi-encryption-key.
func kebab(s string) string {
	var parts []string
	for _, w := range words(s) {
		if w == "BI" && len(parts) > 0 && parts[len(parts)-1] == "power" {
			parts = append(parts, "bi")
			continue
		}
		parts = append(parts, strings.ToLower(w))
	}
	return strings.Join(parts, "-")
}
