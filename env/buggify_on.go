//go:build !production

package env

// buggifyCompiled is true in every build but the production one, so that tests and the
// simulator can fire Buggify sites.
const buggifyCompiled = true
