package node

import (
	"fmt"
	"hash/fnv"
	"strconv"
	"strings"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node/opts"
)

// subjectMapping rewrites the subject of messages published in an account (the
// mappings block): the first mapping whose source matches picks a destination, by
// weight when there are several.
type subjectMapping struct {
	source       string
	destinations []mappingDestination
}

// mappingDestination is one weighted destination; cumulativeWeight is the sum of the
// weights up to and including this one, so a draw in [0, 100) picks the first whose
// cumulative weight is above it.
type mappingDestination struct {
	cumulativeWeight int
	parts            []mappingPart
}

// mappingPart is one token of a destination: a literal, a source wildcard by
// position (1-based), a hash partition of some wildcards, or (when random) a number in
// [0, buckets).
type mappingPart struct {
	literal   string
	wildcard  int
	partition []int
	buckets   int
	random    bool
}

// compileMappings turns configured mappings into the account's mapping table; a
// mapping with a function this server does not know is reported and left out.
func compileMappings(configured []*opts.Mapping, logger Logger) []*subjectMapping {
	var mappings []*subjectMapping
	for _, m := range configured {
		compiled := &subjectMapping{source: m.Source}
		total, ok := 0, true
		for _, d := range m.Destinations {
			parts, err := compileDestination(m.Source, d.Subject)
			if err != nil {
				logger.Warnf("Subject mapping %q -> %q ignored: %v", m.Source, d.Subject, err)
				ok = false
				break
			}
			weight := int(d.Weight)
			if len(m.Destinations) == 1 && weight == 0 {
				weight = 100
			}
			total += weight
			compiled.destinations = append(compiled.destinations, mappingDestination{cumulativeWeight: total, parts: parts})
		}
		if ok && len(compiled.destinations) > 0 {
			mappings = append(mappings, compiled)
		}
	}
	return mappings
}

// compileDestination parses a destination: literal tokens, "$N", and the functions
// {{wildcard(N)}}, {{partition(K,N...)}} and {{random(K)}}.
func compileDestination(source, destination string) ([]mappingPart, error) {
	wildcards := 0
	for _, token := range strings.Split(source, ".") {
		if token == "*" {
			wildcards++
		}
	}
	var parts []mappingPart
	nextWildcard := 0
	for _, token := range strings.Split(destination, ".") {
		if token == "*" {
			// The legacy form: the k-th '*' of the destination is the k-th of the source.
			nextWildcard++
			if nextWildcard > wildcards {
				return nil, fmt.Errorf("more wildcards in the destination than in the source")
			}
			parts = append(parts, mappingPart{wildcard: nextWildcard})
			continue
		}
		part, err := compileToken(token, wildcards)
		if err != nil {
			return nil, err
		}
		parts = append(parts, part)
	}
	return parts, nil
}

func compileToken(token string, wildcards int) (mappingPart, error) {
	position := func(text string) (int, error) {
		n, err := strconv.Atoi(strings.TrimSpace(text))
		if err != nil || n < 1 || n > wildcards {
			return 0, fmt.Errorf("no wildcard %q in the source", text)
		}
		return n, nil
	}
	if strings.HasPrefix(token, "$") {
		n, err := position(token[1:])
		return mappingPart{wildcard: n}, err
	}
	if !strings.HasPrefix(token, "{{") || !strings.HasSuffix(token, "}}") {
		return mappingPart{literal: token}, nil
	}
	call := strings.TrimSpace(token[2 : len(token)-2])
	open, close := strings.IndexByte(call, '('), strings.LastIndexByte(call, ')')
	if open < 0 || close < open {
		return mappingPart{}, fmt.Errorf("malformed function %q", token)
	}
	name := strings.ToLower(strings.TrimSpace(call[:open]))
	var args []string
	if inner := strings.TrimSpace(call[open+1 : close]); inner != "" {
		args = strings.Split(inner, ",")
	}
	switch name {
	case "wildcard":
		if len(args) != 1 {
			return mappingPart{}, fmt.Errorf("wildcard takes one argument")
		}
		n, err := position(args[0])
		return mappingPart{wildcard: n}, err
	case "partition":
		if len(args) < 1 {
			return mappingPart{}, fmt.Errorf("partition needs a bucket count")
		}
		buckets, err := strconv.Atoi(strings.TrimSpace(args[0]))
		if err != nil || buckets < 1 {
			return mappingPart{}, fmt.Errorf("bad partition count %q", args[0])
		}
		part := mappingPart{buckets: buckets, partition: []int{}}
		for _, arg := range args[1:] {
			n, err := position(arg)
			if err != nil {
				return mappingPart{}, err
			}
			part.partition = append(part.partition, n)
		}
		return part, nil
	case "random":
		if len(args) != 1 {
			return mappingPart{}, fmt.Errorf("random takes one argument")
		}
		buckets, err := strconv.Atoi(strings.TrimSpace(args[0]))
		if err != nil || buckets < 1 {
			return mappingPart{}, fmt.Errorf("bad random count %q", args[0])
		}
		return mappingPart{buckets: buckets, random: true}, nil
	}
	return mappingPart{}, fmt.Errorf("function %q is not supported", name)
}

// mapSubject returns the subject a publication to subj goes to, and whether a
// mapping applied.
func mapSubject(mappings []*subjectMapping, subj string, rand env.Rand) (string, bool) {
	for _, m := range mappings {
		if !subject.MatchesFilter(subj, m.source) {
			continue
		}
		destination := &m.destinations[0]
		if len(m.destinations) > 1 || destination.cumulativeWeight < 100 {
			draw := rand.Intn(100)
			destination = nil
			for i := range m.destinations {
				if draw < m.destinations[i].cumulativeWeight {
					destination = &m.destinations[i]
					break
				}
			}
			if destination == nil {
				// The weights left this share of messages on their own subject.
				return subj, false
			}
		}
		return destination.render(m.source, subj, rand), true
	}
	return subj, false
}

// render builds the destination subject from the published subject's tokens.
func (d *mappingDestination) render(source, subj string, rand env.Rand) string {
	sourceTokens := strings.Split(source, ".")
	tokens := strings.Split(subj, ".")
	var wildcards []string
	for i, token := range sourceTokens {
		if token == "*" && i < len(tokens) {
			wildcards = append(wildcards, tokens[i])
		}
	}
	var out strings.Builder
	for i, part := range d.parts {
		if i > 0 {
			out.WriteByte('.')
		}
		switch {
		case part.random:
			out.WriteString(strconv.Itoa(rand.Intn(part.buckets)))
		case part.buckets > 0:
			var key []byte
			if len(part.partition) == 0 {
				key = []byte(subj)
			}
			for _, n := range part.partition {
				key = append(key, wildcards[n-1]...)
			}
			hash := fnv.New32a()
			_, _ = hash.Write(key)
			out.WriteString(strconv.Itoa(int(hash.Sum32() % uint32(part.buckets))))
		case part.wildcard > 0:
			out.WriteString(wildcards[part.wildcard-1])
		default:
			out.WriteString(part.literal)
		}
	}
	if last := sourceTokens[len(sourceTokens)-1]; last == ">" && len(tokens) >= len(sourceTokens) {
		// A trailing full wildcard carries the rest of the subject over when the
		// destination ends in one too.
		if d.parts[len(d.parts)-1].literal == ">" {
			rendered := strings.TrimSuffix(out.String(), ">")
			return rendered + strings.Join(tokens[len(sourceTokens)-1:], ".")
		}
	}
	return out.String()
}
