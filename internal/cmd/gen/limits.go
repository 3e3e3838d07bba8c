package main

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// rateLimit is one documented limit of an operation, for ratelimits_gen.go.
type rateLimit struct {
	Class    string
	Requests int
	Per      string // a time.Duration expression
	Source   string // the operation it was read from
	Text     string // the contract's words
}

// limitPatterns read the limits the contract's descriptions state: "Maximum
// 200 requests per hour", "or 5 requests per minute", "a limit of 120 query
// requests per minute per user", "Maximum one call per user per hour".
var limitPatterns = []*regexp.Regexp{
	regexp.MustCompile(`(?i)\b(?:maximum(?: of)?|limit of|or)\s+([\d,]+|one)\s+(?:query\s+)?(?:requests|calls|call)\s+(?:per user\s+)?per\s+(hour|minute)`),
}

var perUnits = map[string]string{"hour": "time.Hour", "minute": "time.Minute"}

// limits collects the documented limits of every operation, by budget class
// (the operation's ID, or the class the overlay gives operations that share
// one budget), once per class.
func (m *model) limits() []rateLimit {
	byClass := map[string][]rateLimit{}
	for _, op := range m.sw.Operations {
		class := op.ID
		if c := m.ov.RateClasses[op.ID]; c != "" {
			class = c
		}
		if _, done := byClass[class]; done {
			continue
		}
		var found []rateLimit
		for _, line := range strings.Split(op.Description, "\n") {
			for _, re := range limitPatterns {
				for _, mm := range re.FindAllStringSubmatch(line, -1) {
					n := 1
					if !strings.EqualFold(mm[1], "one") {
						n, _ = strconv.Atoi(strings.ReplaceAll(mm[1], ",", ""))
					}
					found = append(found, rateLimit{Class: class, Requests: n, Per: perUnits[strings.ToLower(mm[2])], Source: op.ID,
						Text: strings.TrimSpace(strings.TrimLeft(line, "- "))})
				}
			}
		}
		if len(found) > 0 {
			byClass[class] = found
		}
	}
	var out []rateLimit
	for _, ls := range byClass {
		out = append(out, ls...)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Class != out[j].Class {
			return out[i].Class < out[j].Class
		}
		return out[i].Per < out[j].Per
	})
	return out
}
