// SPDX-License-Identifier: MIT
//
// snapd-accept asks snapd's own assertion database (Debian's snapd Go source) whether it accepts assertions:
//
//	snapd-accept TRUSTED-FILE [-refuse] FILE...
//
// TRUSTED-FILE holds the trusted root (self-signed account + account-key). The assertions of each FILE are
// added in order with asserts.Database.Add; after -refuse, every assertion must be refused instead. Prints
// one line per assertion and exits 1 on the first unexpected verdict.
package main

import (
	"bytes"
	"fmt"
	"io"
	"io/ioutil"
	"os"

	"github.com/snapcore/snapd/asserts"
)

func decodeFile(path string) ([]asserts.Assertion, error) {
	data, err := ioutil.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var out []asserts.Assertion
	dec := asserts.NewDecoder(bytes.NewReader(data))
	for {
		a, err := dec.Decode()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %v", path, err)
		}
		out = append(out, a)
	}
}

func describe(a asserts.Assertion) string {
	return fmt.Sprintf("%s %v", a.Type().Name, a.Ref().PrimaryKey)
}

func main() {
	if len(os.Args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: snapd-accept TRUSTED-FILE [-refuse] FILE...")
		os.Exit(2)
	}
	trusted, err := decodeFile(os.Args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot decode trusted root:", err)
		os.Exit(1)
	}
	db, err := asserts.OpenDatabase(&asserts.DatabaseConfig{
		Backstore: asserts.NewMemoryBackstore(),
		Trusted:   trusted,
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, "cannot open database:", err)
		os.Exit(1)
	}
	expectRefused := false
	status := 0
	for _, path := range os.Args[2:] {
		if path == "-refuse" {
			expectRefused = true
			continue
		}
		as, err := decodeFile(path)
		if err != nil {
			if expectRefused {
				fmt.Printf("refused (decode): %s: %v\n", path, err)
				continue
			}
			fmt.Println("FAIL:", err)
			os.Exit(1)
		}
		for _, a := range as {
			err := db.Add(a)
			switch {
			case err == nil && !expectRefused:
				fmt.Printf("accepted: %s\n", describe(a))
			case err != nil && expectRefused:
				fmt.Printf("refused: %s: %v\n", describe(a), err)
			case err == nil:
				fmt.Printf("FAIL: accepted although it must be refused: %s\n", describe(a))
				status = 1
			default:
				fmt.Printf("FAIL: refused: %s: %v\n", describe(a), err)
				status = 1
			}
		}
	}
	os.Exit(status)
}
