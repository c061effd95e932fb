package node

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/natsim/natsim/ds/subject"
	"github.com/natsim/natsim/ds/sublist"
	"github.com/natsim/natsim/env"
	"github.com/natsim/natsim/node/opts"
)

// responsesMax bounds the pending service responses one account tracks; the oldest
// mapping is dropped beyond it.
const responsesMax = 64 * 1024

// replyPrefix starts the reply subjects the server invents for service imports. A
// client may not publish with such a reply itself.
const replyPrefix = "_R_."

// Account is an isolated subject space: its own subscriptions, plus the exports it
// offers and the imports it takes from other accounts.
type Account struct {
	Name string
	// nameTag is the name in the account's JWT (operator mode); fixed once configured.
	nameTag string
	sublist *sublist.Sublist[*subscription]
	// mappings are the account's subject mappings, replaced whole on reload.
	mappings atomic.Pointer[[]*subjectMapping]

	// The fields below are fixed once the server is configured (a reload builds new
	// accounts' import tables before swapping them in under mu).
	mu sync.Mutex
	// limits are the account's limits (guarded by mu: a reload changes them).
	limits opts.AccountLimits
	// links are the account's import tables, replaced whole when imports are linked
	// again (a reload, an account JWT update); read them with streamImporters and
	// serviceImports.
	links atomic.Pointer[accountLinks]
	// responses maps an invented reply subject of this (exporting) account to where the
	// response goes in the importing account.
	responses     map[string]*serviceResponse
	responseOrder []string
	connections   int
	// jetStreamNotEnabled answers the account's JetStream API while JetStream runs
	// without it (see answerJetStreamNotEnabled).
	jetStreamNotEnabled *subscription
	// closedIn and closedOut are the messages its closed connections sent and
	// received, slowConsumers its connections closed as slow consumers (the live
	// connections' counts are added for the account's statistics, see events.go).
	closedIn, closedOut MsgBytes
	slowConsumers       int64
	// connsTimer sends the account's connection count every 30 seconds while it has
	// connections (see events.go); guarded by mu.
	connsTimer env.Timer
}

// accountLinks are an account's import tables.
type accountLinks struct {
	// streamImporters are the accounts that import a stream from this one.
	streamImporters []*streamImport
	// serviceImports are the services this account imports from others.
	serviceImports []*serviceImport
}

// streamImporters returns the accounts importing a stream from this one.
func (a *Account) streamImporters() []*streamImport {
	if links := a.links.Load(); links != nil {
		return links.streamImporters
	}
	return nil
}

// serviceImports returns the services this account imports.
func (a *Account) serviceImports() []*serviceImport {
	if links := a.links.Load(); links != nil {
		return links.serviceImports
	}
	return nil
}

// streamImport delivers messages published in the exporting account on subject to the
// importing account, under a mapped subject.
type streamImport struct {
	importer *Account
	subject  string
	prefix   string
	to       string
}

// serviceImport forwards requests published in the importing account on to into the
// exporting account on subject, with a reply mapped back.
type serviceImport struct {
	exporter *Account
	subject  string
	to       string
	// singleton is true when a request gets exactly one response.
	singleton bool
	threshold time.Duration
}

// serviceResponse is a pending reply of a service import.
type serviceResponse struct {
	importer  *Account
	reply     string
	singleton bool
	expires   time.Time
}

func newAccount(name string, cacheDisabled bool) *Account {
	return &Account{
		Name:      name,
		sublist:   sublist.NewWithOptions[*subscription](sublist.Options{CacheDisabled: cacheDisabled}),
		limits:    opts.AccountLimits{MaxConnections: -1, MaxSubscriptions: -1, MaxPayload: -1, MaxLeafNodes: -1},
		responses: make(map[string]*serviceResponse),
	}
}

// configureAccounts builds the global and system accounts, the configured ones, and
// their imports and exports.
func (s *Server) configureAccounts(o *opts.Options) error {
	accounts := make(map[string]*Account)
	global := newAccount(opts.DefaultGlobalAccount, o.NoSublistCache)
	accounts[global.Name] = global
	global.setMappings(compileMappings(o.Mappings, s.logger))
	for _, configured := range o.Accounts {
		if _, exists := accounts[configured.Name]; exists && configured.Name != opts.DefaultGlobalAccount {
			return fmt.Errorf("node: duplicate account %q", configured.Name)
		}
		a := accounts[configured.Name]
		if a == nil {
			a = newAccount(configured.Name, o.NoSublistCache)
			accounts[a.Name] = a
		}
		a.limits = configured.Limits
		a.nameTag = configured.NameTag
		a.setMappings(compileMappings(configured.Mappings, s.logger))
	}
	var system *Account
	if !o.NoSystemAccount {
		name := o.SystemAccount
		if name == "" {
			name = opts.DefaultSystemAccount
		}
		system = accounts[name]
		if system == nil {
			system = newAccount(name, o.NoSublistCache)
			accounts[name] = system
		}
	}
	if err := linkImports(o, accounts); err != nil {
		return err
	}
	s.accounts, s.globalAccount, s.systemAccount = accounts, global, system
	return nil
}

// linkImports resolves every import against the exporter's exports and installs
// the import tables of every account in accounts, replacing those linked before.
func linkImports(o *opts.Options, accounts map[string]*Account) error {
	links := make(map[*Account]*accountLinks, len(accounts))
	linksOf := func(a *Account) *accountLinks {
		if links[a] == nil {
			links[a] = &accountLinks{}
		}
		return links[a]
	}
	for _, configured := range o.Accounts {
		importer := accounts[configured.Name]
		for _, im := range configured.Imports {
			exporter := accounts[im.Account]
			if exporter == nil {
				return fmt.Errorf("node: account %q imports from unknown account %q", configured.Name, im.Account)
			}
			export := findExport(o, im.Account, im.Subject, im.Service)
			if export == nil || !exportAllows(export, configured.Name) {
				// The reference logs and skips an import that no export allows.
				continue
			}
			if im.Service {
				to := im.To
				if to == "" {
					to = im.Subject
				}
				threshold := export.ResponseThreshold
				if threshold <= 0 {
					threshold = opts.DefaultServiceResponseThreshold
				}
				l := linksOf(importer)
				l.serviceImports = append(l.serviceImports, &serviceImport{
					exporter:  exporter,
					subject:   im.Subject,
					to:        to,
					singleton: export.ResponseType == "" || export.ResponseType == opts.ResponseTypeSingleton,
					threshold: threshold,
				})
				continue
			}
			l := linksOf(exporter)
			l.streamImporters = append(l.streamImporters, &streamImport{
				importer: importer, subject: im.Subject, prefix: im.Prefix, to: im.To,
			})
		}
	}
	for _, a := range accounts {
		a.links.Store(links[a])
	}
	return nil
}

// findExport finds the export of account that covers subj.
func findExport(o *opts.Options, account, subj string, service bool) *opts.Export {
	for _, configured := range o.Accounts {
		if configured.Name != account {
			continue
		}
		for _, export := range configured.Exports {
			if export.Service == service && subject.IsSubsetMatch(subj, export.Subject) {
				return export
			}
		}
	}
	return nil
}

func exportAllows(export *opts.Export, account string) bool {
	return len(export.Accounts) == 0 || slices.Contains(export.Accounts, account)
}

// mapImportedSubject turns a subject published in the exporter into the importer's.
func (si *streamImport) mapSubject(published string) string {
	switch {
	case si.to != "":
		return transformSubject(si.subject, si.to, published)
	case si.prefix != "":
		return si.prefix + "." + published
	}
	return published
}

// transformSubject maps published, which matches pattern, onto destination: the
// tokens that pattern's wildcards matched fill destination's wildcards in order, and a
// literal destination is taken as is.
func transformSubject(pattern, destination, published string) string {
	if !subject.HasWildcard(destination) {
		return destination
	}
	patternTokens := strings.Split(pattern, ".")
	publishedTokens := strings.Split(published, ".")
	var captured []string
	for i, token := range patternTokens {
		if i >= len(publishedTokens) {
			break
		}
		switch token {
		case "*":
			captured = append(captured, publishedTokens[i])
		case ">":
			captured = append(captured, strings.Join(publishedTokens[i:], "."))
		}
	}
	destinationTokens := strings.Split(destination, ".")
	next := 0
	for i, token := range destinationTokens {
		if (token == "*" || token == ">") && next < len(captured) {
			destinationTokens[i] = captured[next]
			next++
		}
	}
	return strings.Join(destinationTokens, ".")
}

// setMappings replaces the account's subject mappings.
func (a *Account) setMappings(mappings []*subjectMapping) {
	a.mappings.Store(&mappings)
}

// limitsNow returns the account's limits, which a reload may change.
func (a *Account) limitsNow() opts.AccountLimits {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.limits
}

// setLimits replaces the account's limits.
func (a *Account) setLimits(limits opts.AccountLimits) {
	a.mu.Lock()
	a.limits = limits
	a.mu.Unlock()
}

// addResponse records where the response to an invented reply goes, dropping expired
// and, beyond responsesMax, the oldest mappings.
func (a *Account) addResponse(reply string, response *serviceResponse, now time.Time) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.responseOrder) > 0 {
		oldest := a.responseOrder[0]
		existing, ok := a.responses[oldest]
		if ok && len(a.responseOrder) < responsesMax && now.Before(existing.expires) {
			break
		}
		delete(a.responses, oldest)
		a.responseOrder = a.responseOrder[1:]
	}
	a.responses[reply] = response
	a.responseOrder = append(a.responseOrder, reply)
}

// takeResponse returns the mapping of an invented reply, removing a singleton's.
func (a *Account) takeResponse(reply string, now time.Time) *serviceResponse {
	a.mu.Lock()
	defer a.mu.Unlock()
	response, ok := a.responses[reply]
	if !ok {
		return nil
	}
	if now.After(response.expires) {
		delete(a.responses, reply)
		return nil
	}
	if response.singleton {
		delete(a.responses, reply)
	}
	return response
}

// lookupAccount returns the named account or nil.
func (s *Server) lookupAccount(name string) *Account {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.accounts[name]
}

// sortedAccountNames returns the account names in order.
func (s *Server) sortedAccountNamesLocked() []string {
	names := make([]string, 0, len(s.accounts))
	for name := range s.accounts {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}
