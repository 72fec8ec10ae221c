"""Chat turns from ToolBench messages: what a DFSDT policy is prompted with and what tree datasets train on.

Example:
    >>> from hf_ext.agents.chat import format_step
    >>> print(format_step("look it up", "search", '{"q": "tea"}'))
    Thought: look it up
    Action: search
    Action Input: {"q": "tea"}
"""

from __future__ import annotations

from typing import Any


def format_step(thought: str | None, name: str, arguments: str) -> str:
    """The assistant text of one step, as :mod:`hf_ext.data.tool_trees` serialises steps for training."""
    head = f"Thought: {thought}\n" if thought else ""
    return f"{head}Action: {name}\nAction Input: {arguments}"


def chat_messages(messages: list[dict[str, Any]], function_role: str = "tool") -> list[dict[str, str]]:
    """ToolBench messages as the chat turns :mod:`hf_ext.data.tool_trees` trains on: assistant steps as
    ``Thought/Action/Action Input`` text, observations in ``function_role``, every content a string.

    >>> call = {"name": "f", "arguments": "{}"}
    >>> chat_messages([{"role": "assistant", "content": None, "function_call": call},
    ...                {"role": "function", "name": "f", "content": "ok"}])  # doctest: +NORMALIZE_WHITESPACE
    [{'role': 'assistant', 'content': 'Action: f\\nAction Input: {}'}, {'role': 'tool', 'content': 'ok'}]
    """
    chat = []
    for message in messages:
        if message["role"] == "assistant" and message.get("function_call"):
            call = message["function_call"]
            chat.append(
                {
                    "role": "assistant",
                    "content": format_step(message.get("content"), call["name"], call["arguments"]),
                }
            )
        elif message["role"] == "function":
            chat.append({"role": function_role, "content": str(message.get("content", ""))})
        else:
            chat.append({"role": message["role"], "content": str(message.get("content") or "")})
    return chat
