"""WeChat: the wechatpy clients pointed at WeChat or at the local sandbox, and the sandbox itself."""
