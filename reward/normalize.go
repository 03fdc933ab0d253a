package reward

import (
	"regexp"
	"strings"
)

// mathNames are letter runs that are mathematics, not words or units.
var mathNames = map[string]bool{
	"pi": true, "sqrt": true, "sin": true, "cos": true, "tan": true, "sec": true, "csc": true, "cot": true,
	"arcsin": true, "arccos": true, "arctan": true, "sinh": true, "cosh": true, "tanh": true,
	"log": true, "ln": true, "exp": true, "inf": true, "infty": true, "infinity": true, "oo": true,
}

// unicodeReplacer maps Unicode mathematics to ASCII/LaTeX.
var unicodeReplacer = strings.NewReplacer(
	"\u2212", "-", "\u2013", "-", "\u00d7", `\times `, "\u00f7", `\div `, "\u00b7", `\cdot `, "\u22c5", `\cdot `,
	"\u03c0", `\pi `, "\u221e", `\infty `, "\u221a", `\sqrt`, "\u00b0", `^\circ `, "\u2248", `\approx `, "\u222a", `\cup `, "\u00b1", `\pm `,
	"\u00a0", " ", "\u2009", " ", "\u202f", " ", "\uff05", "%", "\u2014", "-", "\u2032", "'",
)

// spacingReplacer drops LaTeX spacing and sizing; "\\" is listed first so a
// row separator is never read as the start of "\,".
var spacingReplacer = strings.NewReplacer(
	`\\`, `\\`, `\!`, "", `\,`, "", `\;`, "", `\:`, "", `\ `, " ", `\quad`, " ", `\qquad`, " ",
	"~", " ", `\displaystyle`, "", `\dfrac`, `\frac`, `\tfrac`, `\frac`, `\cfrac`, `\frac`,
	`\%`, "%", `\$`, "", "$", "", "{,}", "", `\lbrace`, `\{`, `\rbrace`, `\}`, `\lvert`, "|", `\rvert`, "|",
	`\vert`, "|",
)

var (
	sizingRE   = regexp.MustCompile(`\\(?:left|right|bigl|bigr|Bigl|Bigr|biggl|biggr|big|Big|bigg|Bigg)\b\.?`)
	degreeRE   = regexp.MustCompile(`(?:\^\s*\{?\s*\\circ\s*\}?|\\circ\b|\\degree\b)(?:\s*[CF]\b)?|\^\s*\{\s*\}`)
	percentRE  = regexp.MustCompile(`\s*(?i:percent|per\s+cent)\b`)
	textCmdRE  = regexp.MustCompile(`\\(?:text|textbf|textit|textrm|textsf|texttt|textnormal|mbox|hbox|emph|mathrm|mathbf|mathit|mathsf|mathtt|operatorname)\s*\{`)
	unitWordRE = regexp.MustCompile(`^\(?[A-Za-z][A-Za-z .\-/]*\)?$`)
	// expAfterRE is an exponent that belonged to a removed unit, as in "\text{cm}^2".
	expAfterRE  = regexp.MustCompile(`^\s*\^\s*\{?\s*[23]\s*\}?`)
	leadWordsRE = regexp.MustCompile(`^(?i:approximately|approx\.?|about|around|roughly|exactly|only|just|a total of|total of|total)\s+`)
	// trailWordRE is a trailing word (a unit, a noun) after a quantity.
	trailWordRE = regexp.MustCompile(`\s*([A-Za-z]{2,})\.?(?:\s*\^\s*\{?[23]\}?)?\s*$`)
	// perUnitRE is a trailing compound unit: "km/h", "m/s^2".
	perUnitRE = regexp.MustCompile(`\s*[A-Za-z]+/[A-Za-z]+(?:\^\{?\d\}?)?\s*$`)
	// stuckUnitRE is a unit written against its number: "5cm", "18kg".
	stuckUnitRE = regexp.MustCompile(`(\d)\s*(?:cm|mm|km|kg|mg|lbs?|oz|ft|yd|mi|hrs?|mins?|secs?|ml|mL|mph|kph|sq)\.?$`)
	fracShortRE = regexp.MustCompile(`\\frac\s*([0-9a-zA-Z])\s*([0-9a-zA-Z])`)
	fracHalfRE  = regexp.MustCompile(`\\frac\s*([0-9a-zA-Z])\s*\{`)
	sqrtShortRE = regexp.MustCompile(`\\sqrt\s*([0-9a-zA-Z])`)
	spacesRE    = regexp.MustCompile(`\s+`)
	// conjunctionRE joins alternatives: "1 or 2", "x = 1 and x = 2".
	conjunctionRE = regexp.MustCompile(`\s+(?i:and|or)\s+`)
)

// maxNormalizeLen bounds the text normalizeAnswer works on; longer answers
// are no mathematical answers anyone writes.
const maxNormalizeLen = 4000

// normalizeAnswer rewrites an extracted answer into the plain form the math
// parser reads: delimiters, \boxed, spacing, \text units, currency, degree
// signs and trailing unit words removed; LaTeX fraction variants unified.
func normalizeAnswer(s string) string {
	s = strings.TrimSpace(s)
	if len(s) > maxNormalizeLen {
		return s
	}
	s = unicodeReplacer.Replace(s)
	s = unwrapBoxed(s)
	s = stripMathDelimiters(s)
	s = sizingRE.ReplaceAllString(s, "")
	s = spacingReplacer.Replace(s)
	s = degreeRE.ReplaceAllString(s, "")
	s = percentRE.ReplaceAllString(s, "%")
	s = unwrapText(s)
	s = fracShortRE.ReplaceAllString(s, `\frac{$1}{$2}`)
	s = fracHalfRE.ReplaceAllString(s, `\frac{$1}{`)
	s = sqrtShortRE.ReplaceAllString(s, `\sqrt{$1}`)
	s = strings.TrimSpace(spacesRE.ReplaceAllString(s, " "))
	s = strings.Trim(s, "*")
	s = leadWordsRE.ReplaceAllString(s, "")
	s = stripUnits(s)
	if hasDigit(s) {
		s = conjunctionRE.ReplaceAllString(s, " , ")
	}
	s = strings.TrimSpace(strings.TrimRight(s, ".,;:? "))
	if n, ok := numberWords[strings.ToLower(s)]; ok {
		s = n
	}
	return s
}

// numberWords are answers written in words.
var numberWords = map[string]string{
	"zero": "0", "one": "1", "two": "2", "three": "3", "four": "4", "five": "5", "six": "6",
	"seven": "7", "eight": "8", "nine": "9", "ten": "10", "eleven": "11", "twelve": "12",
	"thirteen": "13", "fourteen": "14", "fifteen": "15", "sixteen": "16", "seventeen": "17",
	"eighteen": "18", "nineteen": "19", "twenty": "20", "thirty": "30", "forty": "40",
	"fifty": "50", "sixty": "60", "seventy": "70", "eighty": "80", "ninety": "90",
	"hundred": "100", "a hundred": "100", "one hundred": "100", "thousand": "1000",
	"one thousand": "1000", "half": "1/2", "one half": "1/2", "a half": "1/2",
	"one third": "1/3", "a third": "1/3", "one quarter": "1/4", "a quarter": "1/4",
}

// unwrapBoxed replaces every \boxed{X} and \fbox{X} by X.
func unwrapBoxed(s string) string {
	for _, cmd := range []string{`\boxed`, `\fbox`} {
		for n := 0; n < 16; n++ {
			i := strings.Index(s, cmd)
			if i < 0 {
				break
			}
			rest := strings.TrimLeft(s[i+len(cmd):], " ")
			if !strings.HasPrefix(rest, "{") {
				s = s[:i] + rest
				continue
			}
			inner, after, ok := braceGroup(rest)
			if !ok {
				s = s[:i] + rest[1:]
				continue
			}
			s = s[:i] + inner + after
		}
	}
	return s
}

// stripMathDelimiters removes math delimiters around s ($…$, \(…\), \[…\]).
func stripMathDelimiters(s string) string {
	for n := 0; n < 4; n++ {
		t := strings.TrimSpace(s)
		switch {
		case strings.HasPrefix(t, `\(`) && strings.HasSuffix(t, `\)`) && len(t) >= 4:
			t = t[2 : len(t)-2]
		case strings.HasPrefix(t, `\[`) && strings.HasSuffix(t, `\]`) && len(t) >= 4:
			t = t[2 : len(t)-2]
		}
		if t == s {
			break
		}
		s = t
	}
	return s
}

// unwrapText handles \text{…} and its kin: a unit word beside a quantity
// ("5\text{ cm}") is dropped, "and"/"or" become list commas, anything else
// is kept without the command.
func unwrapText(s string) string {
	for n := 0; n < 32; n++ {
		loc := textCmdRE.FindStringIndex(s)
		if loc == nil {
			return s
		}
		inner, after, ok := braceGroup(s[loc[1]-1:])
		if !ok {
			return s[:loc[0]] + s[loc[1]:]
		}
		before := s[:loc[0]]
		content := strings.TrimSpace(inner)
		isMath := strings.HasPrefix(s[loc[0]:], `\math`) || strings.HasPrefix(s[loc[0]:], `\operatorname`)
		switch low := strings.ToLower(content); {
		case low == "and" || low == "or":
			s = before + " , " + after
		case unitWordRE.MatchString(content) && strings.ContainsAny(before+after, "0123456789") &&
			!(isMath && len(content) == 1) && !mathNames[low]:
			after = expAfterRE.ReplaceAllString(after, "")
			s = before + " " + after
		default:
			s = before + " " + inner + " " + after
		}
	}
	return s
}

// stripUnits removes units and nouns trailing a quantity: "10 dollars",
// "5 km/h", "3cm", "7 apples per day".
func stripUnits(s string) string {
	for n := 0; n < 8; n++ {
		t := s
		if loc := perUnitRE.FindStringIndex(t); loc != nil && hasDigit(t[:loc[0]]) {
			t = t[:loc[0]]
		} else if m := trailWordRE.FindStringSubmatchIndex(t); m != nil && m[2] > m[0] &&
			hasDigit(t[:m[0]]) && !mathNames[strings.ToLower(t[m[2]:m[3]])] {
			t = t[:m[0]]
		} else if m := stuckUnitRE.FindStringSubmatchIndex(t); m != nil {
			t = t[:m[3]]
		}
		t = strings.TrimSpace(t)
		if t == s {
			break
		}
		s = t
	}
	return s
}

func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }
