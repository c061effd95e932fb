//go:build production

package env

// buggifyCompiled is false in production builds: Buggify is then a constant false.
const buggifyCompiled = false
