package jetstream

import (
	"fmt"
	"sort"
)

// Health problem types, as /healthz?details=true names them.
const (
	HealthAccount  = "ACCOUNT"
	HealthStream   = "STREAM"
	HealthConsumer = "CONSUMER"
)

// healthScanAccountsMax and healthScanStreamsMax bound the directories one health
// check looks at.
const (
	healthScanAccountsMax = 1 << 16
	healthScanStreamsMax  = 1 << 20
)

// HealthProblem is one finding of a health check; Type is one of the Health*
// constants.
type HealthProblem struct {
	Type     string
	Account  string
	Stream   string
	Consumer string
	Error    string
}

// HealthOptions select what a health check looks at: everything, or one account,
// one of its streams, or one of that stream's consumers.
type HealthOptions struct {
	Account  string
	Stream   string
	Consumer string
}

// HealthReport is the result of a health check on one server. Problems lists the
// accounts and streams on disk that are not running, in name order; NotFound is set
// when the account, stream or consumer asked for does not exist (on disk, for
// accounts and streams: a memory stream has no directory, and the reference answers
// "not found" for it as well).
type HealthReport struct {
	Problems []HealthProblem
	NotFound *HealthProblem
}

// Health checks, as the reference's /healthz on a single server, that every account
// and stream found in the store directory is running: an account directory of an
// account without JetStream "could not be resolved", a stream directory without a
// running stream "could not be recovered".
func (m *Manager) Health(options HealthOptions) HealthReport {
	var report HealthReport
	accountFound, streamFound, consumerFound := false, false, false
	accounts, _ := m.config.Env.FS.ReadDir(m.rootDir())
	sort.Strings(accounts)
	for _, name := range accounts[:min(len(accounts), healthScanAccountsMax)] {
		if name == restoreStagingName {
			continue
		}
		if options.Account != "" {
			if name != options.Account {
				continue
			}
			accountFound = true
		}
		account := m.Account(name)
		if account == nil {
			report.Problems = append(report.Problems, HealthProblem{Type: HealthAccount, Account: name,
				Error: fmt.Sprintf("JetStream account '%s' could not be resolved", name)})
			continue
		}
		streams, _ := m.config.Env.FS.ReadDir(m.accountDir(name))
		sort.Strings(streams)
		for _, streamName := range streams[:min(len(streams), healthScanStreamsMax)] {
			if options.Stream != "" {
				if streamName != options.Stream {
					continue
				}
				streamFound = true
			}
			stream := account.Stream(streamName)
			if stream == nil {
				report.Problems = append(report.Problems, HealthProblem{Type: HealthStream, Account: name, Stream: streamName,
					Error: fmt.Sprintf("JetStream stream '%s > %s' could not be recovered", name, streamName)})
				continue
			}
			if streamFound {
				consumerFound = options.Consumer != "" && stream.Consumer(options.Consumer) != nil
				break
			}
		}
		if accountFound {
			break
		}
	}
	switch {
	case options.Account != "" && !accountFound:
		report.NotFound = &HealthProblem{Type: HealthAccount, Account: options.Account,
			Error: fmt.Sprintf("JetStream account %q not found", options.Account)}
	case options.Stream != "" && !streamFound:
		report.NotFound = &HealthProblem{Type: HealthStream, Account: options.Account, Stream: options.Stream,
			Error: fmt.Sprintf("JetStream stream %q not found on account %q", options.Stream, options.Account)}
	case options.Consumer != "" && !consumerFound:
		report.NotFound = &HealthProblem{Type: HealthConsumer, Account: options.Account, Stream: options.Stream,
			Consumer: options.Consumer,
			Error:    fmt.Sprintf("JetStream consumer %q not found for stream %q on account %q", options.Consumer, options.Stream, options.Account)}
	}
	return report
}
