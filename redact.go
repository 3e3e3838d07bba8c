package powerbi

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text taken from a response or an error is made safe before it is quoted in
// an error or a log line: known secrets are removed, anything shaped like a
// token is redacted, and it is folded to one bounded line.

// redactedError keeps an error's identity for errors.Is and errors.As while its
// text has secrets removed.
type redactedError struct {
	err  error
	text string
}

// cleanError wraps err with a text safe to print: prefix, then err's text
// without the secrets or anything shaped like a token, on one line. The
// decoders quote the values they reject, which could be tokens.
func cleanError(prefix string, err error, secrets ...string) error {
	return redactedError{err, prefix + oneLine(err.Error(), 300, secrets...)}
}

func (e redactedError) Error() string { return e.text }
func (e redactedError) Unwrap() error { return e.err }

// oneLine makes text taken from a response or an error safe to quote on one
// line: secrets are removed (first, so that a secret with a run of spaces is
// still found), opaque runs that may be tokens are redacted (see scrubTokens),
// control characters become spaces, runs of spaces fold, and it is cut at max
// runes.
func oneLine(s string, max int, secrets ...string) string {
	s = scrubTokens(redact(s, secrets...))
	if len(s) <= max && printableASCII(s) {
		return s // the common case (a RequestId, an error code): nothing to change
	}
	return foldLine(s, max)
}

// foldLine is oneLine's slow path.
func foldLine(s string, max int) string {
	var b strings.Builder
	space := false
	n := 0
	for _, r := range s {
		if unicode.IsSpace(r) || unicode.IsControl(r) || r == utf8.RuneError {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		if n >= max {
			b.WriteString("…")
			break
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// printableASCII reports whether s has only visible ASCII characters and
// single inner spaces: text oneLine would return as it is.
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == ' ' && i > 0 && i < len(s)-1 && s[i-1] != ' ' {
			continue
		}
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// minTokenRun is the length from which an unbroken run of base64, base64url,
// JWT or percent-encoded characters is taken for a token. Power BI embed
// tokens, Entra access tokens and client secrets are all longer; GUIDs (36)
// and error codes are shorter.
const minTokenRun = 40

func isTokenByte(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || strings.IndexByte("+/=_.-%~", c) >= 0
}

// scrubTokens replaces every run of at least minTokenRun token characters with
// [REDACTED]. Text quoted from a response (a message, a page snippet) could
// hold a token the SDK never saw, so no known value to redact exists.
func scrubTokens(s string) string {
	var b strings.Builder
	start, done := 0, 0
	for i := 0; i <= len(s); i++ {
		if i < len(s) && isTokenByte(s[i]) {
			continue
		}
		if i-start >= minTokenRun {
			if b.Len() == 0 {
				b.Grow(len(s))
			}
			b.WriteString(s[done:start])
			b.WriteString("[REDACTED]")
			done = i
		}
		start = i + 1
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// snippet renders a non-JSON body as a short, single-line, tag-free excerpt
// without secrets (removed before and after the tags, which could split one).
func snippet(contentType string, body []byte, secrets ...string) string {
	if !utf8.Valid(body) {
		return fmt.Sprintf("%d bytes of non-text %s body", len(body), orDash(oneLine(contentType, 60)))
	}
	s := redact(string(body), secrets...)
	if len(s) > 4096 {
		s = s[:4096]
	}
	var b strings.Builder
	inTag := false
	for _, r := range s {
		switch {
		case r == '<':
			inTag = true
			b.WriteByte(' ')
		case r == '>':
			inTag = false
		case !inTag:
			b.WriteRune(r)
		}
	}
	ct := contentType
	if i := strings.IndexByte(ct, ';'); i >= 0 {
		ct = ct[:i]
	}
	return "non-JSON " + orDash(oneLine(ct, 60)) + " body: " + strconv.Quote(oneLine(b.String(), 120, secrets...))
}

func firstLine(s string) string {
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		return s[:i]
	}
	return s
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// withEncodings returns each secret as it is and as a form or query string
// encodes it ("a b&c" as "a+b%26c" and "a%20b%26c"), the forms in which a
// server may echo a request back.
func withEncodings(secrets ...string) []string {
	out := make([]string, 0, 3*len(secrets))
	for _, s := range secrets {
		q := url.QueryEscape(s)
		out = append(out, s, q, strings.ReplaceAll(q, "+", "%20"))
	}
	return out
}

// wordSecret is the length under which a secret is redacted only where it
// stands as a word of its own. A one-letter test token or a query value such
// as "Sales" also occurs inside ordinary words; a longer secret is removed
// wherever it appears, even glued to other text.
const wordSecret = 12

// redact replaces each secret in s with [REDACTED]: everywhere for secrets of
// wordSecret bytes or more, and only where it stands as a word for shorter ones.
func redact(s string, secrets ...string) string {
	for _, sec := range secrets {
		switch {
		case sec == "":
		case len(sec) >= wordSecret:
			s = strings.ReplaceAll(s, sec, "[REDACTED]")
		default:
			s = redactWord(s, sec)
		}
	}
	return s
}

// redactWord replaces sec where it is not part of a longer run of letters and
// digits. A percent escape ("q%3D1000") ends a word like punctuation does.
func redactWord(s, sec string) string {
	var b strings.Builder
	done := 0
	for from := 0; ; {
		i := strings.Index(s[from:], sec)
		if i < 0 {
			break
		}
		start, end := from+i, from+i+len(sec)
		from = start + 1
		if !wordStart(s, start) || end < len(s) && isAlnum(s[end]) && isAlnum(s[end-1]) {
			continue
		}
		b.WriteString(s[done:start])
		b.WriteString("[REDACTED]")
		done, from = end, end
	}
	if done == 0 {
		return s
	}
	b.WriteString(s[done:])
	return b.String()
}

// wordStart reports whether a word may start at s[i]: at the start, after a
// byte that is not a letter or digit, or right after a percent escape.
func wordStart(s string, i int) bool {
	return i == 0 || !isAlnum(s[i]) || !isAlnum(s[i-1]) || i >= 3 && s[i-3] == '%'
}

func isAlnum(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9'
}

func trimBOM(b []byte) []byte {
	if len(b) >= 3 && b[0] == 0xEF && b[1] == 0xBB && b[2] == 0xBF {
		return b[3:]
	}
	return b
}
