// Package dstest is a test helper package: only _test.go files may import it.
package dstest

// Name is a constant.
const Name = "dstest"
