// Package util is outside the layering.
package util

// Name is a constant.
const Name = "util"
