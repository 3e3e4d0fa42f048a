"""Public name of the tool-call parser (DESIGN section 8); the protocol lives in the engine."""

from .engine.protocol import ToolCall as ToolCall
from .engine.protocol import parse_tool_calls as parse_tool_calls
