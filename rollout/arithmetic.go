package rollout

import (
	"fmt"
	"math/rand/v2"
	"strconv"

	"github.com/retrain-rl/retrain"
)

// ArithmeticTasks makes n small arithmetic tasks ("What is 37 * 12 + 5?")
// with exact integer answers, the same ones for the same seed. They need no
// dataset file, and a calculator tool solves them, which makes them a quick
// end-to-end check of a tool-using setup. Task ids are "arith-1" … "arith-n";
// Metadata["expression"] holds the expression.
func ArithmeticTasks(n int, seed int64) []retrain.Task {
	r := rand.New(rand.NewPCG(uint64(seed), 0x5eed))
	tasks := make([]retrain.Task, n)
	for i := range tasks {
		a, b, c := r.IntN(90)+10, r.IntN(90)+10, r.IntN(20)+1
		var expr string
		var v int
		switch r.IntN(4) {
		case 0:
			expr, v = fmt.Sprintf("%d * %d + %d", a, b, c), a*b+c
		case 1:
			expr, v = fmt.Sprintf("%d * %d - %d", a, b, c), a*b-c
		case 2:
			expr, v = fmt.Sprintf("(%d + %d) * %d", a, b, c), (a+b)*c
		default:
			expr, v = fmt.Sprintf("%d * %d * %d", a, b, c), a*b*c
		}
		tasks[i] = retrain.Task{
			ID:       "arith-" + strconv.Itoa(i+1),
			Prompt:   "What is " + expr + "?",
			Answer:   strconv.Itoa(v),
			Metadata: map[string]any{"expression": expr},
		}
	}
	return tasks
}
