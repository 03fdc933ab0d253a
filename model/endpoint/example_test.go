package endpoint_test

import (
	"context"
	"fmt"
	"os"

	"github.com/retrain-rl/retrain"
	"github.com/retrain-rl/retrain/model"
	"github.com/retrain-rl/retrain/model/endpoint"
	"github.com/retrain-rl/retrain/model/openai/openaitest"
)

// Open the in-process fake server, as "retrain rollout --model fake" does,
// with a scripted reply, and ask it one question.
func ExampleOpen() {
	ctx := context.Background()
	opened, err := endpoint.Open(ctx, model.Endpoint{BaseURL: model.EndpointFake}, &endpoint.Options{
		Notice:    os.Stdout,
		Responder: func(*openaitest.ChatRequest) openaitest.Reply { return openaitest.Reply{Content: "4"} },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer opened.Close()
	comp, err := opened.Model.Generate(ctx, model.Request{Messages: []retrain.Message{{Role: retrain.RoleUser, Content: "2+2?"}}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(opened.Name, opened.Kind, comp.Text)
	// Output:
	// using the in-process fake OpenAI server (scripted replies, not a real model)
	// fake-model fake 4
}
