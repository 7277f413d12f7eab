// gen_yaml_v2_vectors.go — writes tests/slo/golden/yaml_v2_vectors.txt: what gopkg.in/yaml.v2 (v2.4.0,
// the YAML library Sloth uses) marshals for fixed and random tricky strings in four contexts.
// Not part of the build. Regenerate on Debian with golang-go and golang-gopkg-yaml.v2-dev:
//   GOPATH=/usr/share/gocode GO111MODULE=off go run gen_yaml_v2_vectors.go > vectors.txt
// (the committed file keeps the fixed inputs and every 20th random line).
package main

import (
	"encoding/hex"
	"fmt"
	"math/rand"
	"os"
	"strings"

	yaml "gopkg.in/yaml.v2"
)

type rule struct {
	Record string            `yaml:"record,omitempty"`
	Expr   string            `yaml:"expr"`
	Labels map[string]string `yaml:"labels,omitempty"`
}
type group struct {
	Name  string `yaml:"name"`
	Rules []rule `yaml:"rules"`
}
type file struct {
	Groups []group `yaml:"groups"`
}

func emit(ctx int, s string) string {
	var v interface{}
	switch ctx {
	case 0:
		v = map[string]string{"k": s}
	case 1:
		v = file{Groups: []group{{Name: "g", Rules: []rule{{Record: "r", Expr: s, Labels: map[string]string{"a": s}}}}}}
	case 2:
		v = map[string]string{s: "v"}
	case 3:
		v = []string{s}
	}
	b, err := yaml.Marshal(v)
	if err != nil {
		return "ERROR"
	}
	return string(b)
}

func main() {
	fixed := []string{"", " ", "a", "true", "y", "Yes", "off", "null", "~", "1", "-1", "+1", "1.5", ".5", "1e3", "1E-3", "0x1f", "0o17", "0b101", "1_000", "017", "08",
		"1:20", "1:2:3", "2024-01-02", "2024-1-2T10:00:00Z", ".inf", "-.Inf", ".nan", "NaN", "inf", "+inf", "<<", "=",
		"a: b", "a:b", "a :b", "- a", "-a", "--- a", "...", "? a", "?a", ":a", "a:", "#a", "a #b", "a#b", "a\tb", "a\nb", "a\nb\n", "a\n\nb\n\n",
		"\na", " a\nb", "a \nb", "a\n b", "'", "\"", "it's", "{a}", "[a]", "a,b", "*a", "&a", "!a", "|a", ">a", "%a", "@a", "`a",
		"é", "naïve café", "\u2028", "a\u0085b", "\x7f", "\x01", "a\\b", "{{$labels.sloth_service}} {{$labels.sloth_slo}} SLO error budget burn rate is over expected."}
	var sb strings.Builder
	r := rand.New(rand.NewSource(42))
	alpha := []string{"a", "b", "x", "1", "0", ".", " ", " ", " ", ":", "#", "-", "'", "\"", "{", "}", "[", "]", ",", "\n", "\t", "é", "\\", "=", "(", ")", "longword", "sum(rate(x[5m]))", "le=\"0.1\"", "?", "!", "|", ">", "*", "&", "%", "@", "`"}
	inputs := append([]string{}, fixed...)
	for i := 0; i < 3000; i++ {
		n := r.Intn(12) + 1
		if r.Intn(5) == 0 {
			n = r.Intn(60) + 20
		}
		var b strings.Builder
		for j := 0; j < n; j++ {
			b.WriteString(alpha[r.Intn(len(alpha))])
		}
		inputs = append(inputs, b.String())
	}
	for _, s := range inputs {
		for ctx := 0; ctx < 4; ctx++ {
			out := emit(ctx, s)
			if out == "ERROR" {
				continue
			}
			fmt.Fprintf(&sb, "%d %s %s\n", ctx, hex.EncodeToString([]byte(s)), hex.EncodeToString([]byte(out)))
		}
	}
	os.Stdout.WriteString(sb.String())
}
